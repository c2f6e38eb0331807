/** Helpers for the tests that run the CLI as a process: fresh databases, and reading them. */
import { Database } from "bun:sqlite";
import { afterAll } from "bun:test";
import { join } from "node:path";
import { tempDir } from "./keygate.ts";
import { keygateCommand } from "./target.ts";

/** What `keygate init --json` prints. */
export interface InitJson {
  entity_id: string;
  keys: { live: string; test: string } | null;
  /** Where the platform keys are pairs (HTTP Basic the only key scheme). */
  public_keys?: { live: string; test: string };
  message?: string;
}

/**
 * For one test file: a temporary folder (removed after the file) and `freshDb()`, which names
 * a new `KEYGATE_DB` in a folder of its own inside it at each call (created by the CLI).
 */
export function cliDatabases() {
  const tmp = tempDir();
  afterAll(tmp.remove);
  let n = 0;
  const freshDb = () => ({ KEYGATE_DB: join(tmp.dir, `cli-${n++}`, "keygate.sqlite") });
  return { dir: tmp.dir, freshDb };
}

/**
 * Runs `keygate ...args` with no file allowed to grow past `kib` KiB. SIGXFSZ is ignored, so a
 * write past it fails with EFBIG, as it does on a full disk, instead of killing the process.
 */
export function keygateWithFileSizeLimit(kib: number, args: string[], env: Record<string, string>) {
  const { cmd, cwd } = keygateCommand(args);
  const script = `trap '' XFSZ; ulimit -f ${kib}; exec ${cmd.map((a) => `'${a}'`).join(" ")}`;
  return Bun.spawnSync(["bash", "-c", script], {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", ...env },
  });
}

/** Runs `read` on the CLI's database file, opened read-only and closed after. */
export function withDb<T>(env: { KEYGATE_DB: string }, read: (db: Database) => T): T {
  const db = new Database(env.KEYGATE_DB, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * One server per database. Exactly-once admission of idempotent requests and the rate-limit
 * counters live in the serving process's memory: a second `serve` on the same file (a manual
 * start beside the systemd unit, an overlapping deploy) would run a retried POST a second time
 * and give every key twice its limit. So `serve` holds `<database>.serve.pid`, which names its
 * process, for as long as it runs, and a second `serve` that finds the file naming a live
 * Keygate server refuses to start. `rebuild` holds the same file while it replaces the
 * projections: a server must not run beside it (its in-memory key index would go on serving
 * the rows replaced), nor start during it.
 *
 * A file left behind by a process that died (`kill -9`, a power cut) names a process that is
 * gone — or, after a reboot, one that reused its pid and is not a Keygate server — and is
 * taken over. The guard is against the common mistake, on one machine (SQLite's WAL does not
 * work across machines anyway); two servers started within the same millisecond could both
 * take over one stale file.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { KeygateError } from "../errors/keygate-error.ts";

/** A held lock: `release()` removes the file if it is still this process's. */
export interface ServeLock {
  path: string;
  release(): void;
}

/** The pid a lock file names, if it names one. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The Keygate commands that hold the lock: each needs the database to itself. */
export type LockingCommand = "serve" | "rebuild";

/** Which locking command `pid` runs: none when it is gone, or a pid reused by another program. */
function lockingCommandOf(pid: number): LockingCommand | undefined {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return undefined;
  }
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return "serve"; // No /proc to tell: a live pid is taken at its word.
  }
  if (args.includes("serve")) return "serve";
  return args.includes("rebuild") ? "rebuild" : undefined;
}

/** The live Keygate process holding the lock of a database. */
export interface LockHolder {
  pid: number;
  command: LockingCommand;
}

/** Who holds the lock of the database at `dbPath`, if a live `serve` or `rebuild` does. */
export function lockHolder(dbPath: string): LockHolder | undefined {
  if (dbPath === ":memory:") return undefined;
  const pid = holderOf(`${dbPath}.serve.pid`);
  if (pid === undefined || pid === process.pid) return undefined;
  const command = lockingCommandOf(pid);
  return command === undefined ? undefined : { pid, command };
}

/** The pid of the Keygate server serving the database at `dbPath`, if one is. */
export function servingPid(dbPath: string): number | undefined {
  const holder = lockHolder(dbPath);
  return holder?.command === "serve" ? holder.pid : undefined;
}

/** Why `taker` may not have the database `holder` holds, and what to do. */
function refusal(dbPath: string, taker: LockingCommand, holder: LockHolder): string {
  if (holder.command === "rebuild")
    return `the database ${dbPath} is being rebuilt by keygate rebuild (pid ${holder.pid}): ${taker === "serve" ? "start the server once it has finished" : "wait for it to finish"}`;
  if (taker === "rebuild")
    return `the database ${dbPath} is served by keygate serve (pid ${holder.pid}): stop the server before a rebuild, and start it after (its in-memory key index would go on serving the rows the rebuild replaces)`;
  return `the database ${dbPath} is already served by another keygate serve (pid ${holder.pid}): run one server per database (its idempotency and rate limits are in its memory)`;
}

/**
 * Takes the lock of the database at `dbPath` for `command` (none for `:memory:`), or throws a
 * `resource_conflict` {@link KeygateError} naming the process that holds it and what to do: the
 * database is in use, which is no fault of the configuration.
 */
export function holdServeLock(
  dbPath: string,
  command: LockingCommand = "serve",
): ServeLock | undefined {
  if (dbPath === ":memory:") return undefined;
  const path = `${dbPath}.serve.pid`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return {
        path,
        release: () => {
          if (holderOf(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = lockHolder(dbPath);
    if (holder !== undefined)
      throw new KeygateError("resource_conflict", refusal(dbPath, command, holder));
    rmSync(path, { force: true }); // Left by a process that is gone: taken over.
  }
  throw new KeygateError(
    "resource_conflict",
    `the database ${dbPath}: its serving lock ${path} could not be taken`,
  );
}

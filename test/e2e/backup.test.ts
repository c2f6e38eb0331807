/**
 * Backup and restore while serving (issue 8): `keygate backup` copies the database while the
 * server takes writes; the copy verifies, and a server started on it knows every key.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { keygate, keygateAsync } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

/** How many events the log in the database file at `path` holds (read-only). */
function eventsIn(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("SELECT MAX(position) AS p FROM events").get() as { p: number }).p;
  } finally {
    db.close();
  }
}

test("back up while serving, restore, verify the chain, serve the same keys", async () => {
  const db = join(tmp.dir, "live", "keygate.sqlite");
  const backup = join(tmp.dir, "backup.sqlite");
  // The writer below creates keys as fast as the server answers: past the default 100 per
  // second, so without limits here (a 429 writes nothing).
  const config = join(tmp.dir, "no-limits.json");
  writeFileSync(config, JSON.stringify({ rate_limits: { enabled: false } }));
  const server = await startServer({ KEYGATE_DB: db, KEYGATE_CONFIG: config });
  let created: { secret: string; id: string };
  let reported: { path: string; events: number; key_files: string[] } | undefined;
  try {
    const platform = /live: (sk_live_\S+)/.exec(server.startupOutput)?.[1] as string;
    const create = (name: string) =>
      fetch(`${server.url}/v1/api-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${platform}`, "content-type": "application/json" },
        body: JSON.stringify({ name, scopes: ["links:read"] }),
      }).then((r) => {
        expect(r.status).toBe(200);
        return r.json() as Promise<{ secret: string; id: string }>;
      });
    created = await create("before the backup");
    const eventsBeforeWrites = eventsIn(db);
    // Writes keep going, one after another, for as long as the backup command runs.
    let backingUp = true;
    let written = 0;
    const writer = (async () => {
      while (backingUp) {
        await create(`during ${written}`);
        written++;
      }
    })();
    const result = await keygateAsync(["backup", backup, "--json"], { KEYGATE_DB: db });
    backingUp = false;
    await writer;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as NonNullable<typeof reported>;
    reported = answer;
    expect(answer.path).toBe(backup);
    // The key files the copy does not hold, and a restore needs beside it.
    expect(answer.key_files.sort()).toEqual(
      ["keygate-checkpoint.key", "keygate-jwt.key", "keygate-results.key"].map((f) =>
        join(tmp.dir, "live", f),
      ),
    );
    // The copy is one moment of a log that kept growing: writes landed before it was taken
    // (the command takes longer to start than a key creation), and the log goes on after it.
    const inCopy = eventsIn(backup);
    expect(answer.events).toBe(inCopy);
    expect(inCopy).toBeGreaterThan(eventsBeforeWrites);
    await create("after the backup");
    expect(eventsIn(db)).toBeGreaterThan(inCopy);
    expect(keygate(["backup", backup], { KEYGATE_DB: db }).code).toBe(1);
  } finally {
    await server.stop();
  }

  // Restore: the copy and the key files the backup named (docs/deploy.md).
  const restoredDir = join(tmp.dir, "restored");
  mkdirSync(restoredDir);
  const restoredDb = join(restoredDir, "keygate.sqlite");
  copyFileSync(backup, restoredDb);
  for (const file of reported?.key_files ?? [])
    copyFileSync(file, join(restoredDir, basename(file)));

  const verified = keygate(["audit", "verify"], { KEYGATE_DB: restoredDb });
  expect(verified.stdout).toMatch(/^intact: \d+ events.*matches the checkpoint/);
  expect(verified.code).toBe(0);
  // Without the checkpoint key the copy cannot vouch for itself: verify says so, and asks
  // for the public half the auditors kept rather than making a key of its own.
  const unvouched = keygate(["audit", "verify"], { KEYGATE_DB: backup });
  expect(unvouched.code).toBe(1);
  expect(unvouched.stderr).toContain("to check the checkpoints' signer with: give --public-key");
  expect(readdirSync(dirname(backup))).not.toContain("keygate-checkpoint.key");

  const restored = await startServer({ KEYGATE_DB: restoredDb });
  try {
    const me = await fetch(`${restored.url}/v1/me`, {
      headers: { authorization: `Bearer ${created.secret}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { key: { id: string } }).key.id).toBe(created.id);
  } finally {
    await restored.stop();
  }
}, 60_000);

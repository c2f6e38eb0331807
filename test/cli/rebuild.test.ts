/**
 * `keygate rebuild` as an operator runs it, on a real database file whose projections were
 * edited behind the log: the rows go back to what the log says, and only a log that verifies,
 * with no server beside it, is rebuilt from.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { historyDatabase } from "../audit/fixture.ts";
import { withDb } from "../support/cli.ts";
import { tempDir } from "../support/keygate.ts";
import { processWithArgument } from "../support/lock-holder.ts";
import { keygate } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

/** A forged secret's hash, added for a key behind the log: it would authenticate as that key. */
const FORGED_HASH = "f".repeat(64);

/** Edits the projections behind the log: the revoked key made active again, with a forged secret. */
function tamperWithProjections(path: string, keyId: string): void {
  const db = new Database(path);
  db.query("UPDATE api_keys SET status = 'active', revoked_at = NULL WHERE id = ?").run(keyId);
  db.query("INSERT INTO api_key_secrets (secret_hash, key_id) VALUES (?, ?)").run(
    FORGED_HASH,
    keyId,
  );
  db.close();
}

const rowsOf = (path: string, sql: string): unknown[] =>
  withDb({ KEYGATE_DB: path }, (db) => db.query(sql).all());

const forgedSecrets = (path: string) =>
  rowsOf(path, `SELECT key_id FROM api_key_secrets WHERE secret_hash = '${FORGED_HASH}'`);

test("rows edited behind the log are put back as the log says; no event is appended; audit replay is identical again", async () => {
  const history = await historyDatabase(tmp.dir, "rebuild");
  const env = { KEYGATE_DB: history.path };
  tamperWithProjections(history.path, history.keyId);
  expect(keygate(["audit", "replay"], env).code).toBe(1);
  const usageBefore = rowsOf(history.path, "SELECT * FROM api_key_usage ORDER BY 1");

  const rebuilt = keygate(["rebuild", "--json"], env);
  expect(rebuilt.code).toBe(0);
  expect(JSON.parse(rebuilt.stdout)).toMatchObject({
    object: "projection_rebuild",
    projections: ["entities", "api_keys", "users", "idempotency_results", "event_viewers"],
    events: history.events,
    through_position: history.events,
  });

  expect(keygate(["audit", "replay"], env).stdout.trim()).toBe("identical");
  const shown = JSON.parse(keygate(["keys", "show", history.keyId, "--json"], env).stdout);
  expect(shown.status).toBe("revoked");
  expect(forgedSecrets(history.path)).toEqual([]);
  expect(rowsOf(history.path, "SELECT MAX(position) AS head FROM events")).toEqual([
    { head: history.events },
  ]);
  // Last-used times are not derived from the log: a rebuild leaves them as they were.
  expect(rowsOf(history.path, "SELECT * FROM api_key_usage ORDER BY 1")).toEqual(usageBefore);
  expect(existsSync(`${history.path}.serve.pid`)).toBe(false);

  const text = keygate(["rebuild"], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain(`log intact: ${history.events} events`);
  expect(text.stdout).toContain(
    `rebuilt entities, api_keys, users, idempotency_results, event_viewers from ${history.events} events (through position ${history.events})`,
  );
});

test("a log that does not verify is not rebuilt from: exit 1 naming the position, and nothing changes", async () => {
  const history = await historyDatabase(tmp.dir, "rebuild-forged-log");
  const env = { KEYGATE_DB: history.path };
  tamperWithProjections(history.path, history.keyId);
  const db = new Database(history.path);
  db.exec("DROP TRIGGER events_no_update");
  const { position } = db
    .query("SELECT position FROM events WHERE type = 'api_key.created' AND data LIKE '%billing%'")
    .get() as { position: number };
  db.exec(
    `UPDATE events SET data = replace(data, 'billing', 'billinG') WHERE position = ${position}`,
  );
  db.close();

  const refused = keygate(["rebuild"], env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`the log does not verify (position ${position}:`);
  expect(refused.stderr).toContain("nothing was changed — restore a backup instead");
  expect(forgedSecrets(history.path)).toEqual([{ key_id: history.keyId }]);
  const json = JSON.parse(keygate(["rebuild", "--json"], env).stderr);
  expect(json.error.code).toBe("resource_conflict");
});

test("the checkpoints' signer: without the key file, --public-key names it; another key is refused; an unreadable file is bad usage", async () => {
  const dir = join(tmp.dir, "rebuild-signer");
  mkdirSync(dir);
  const history = await historyDatabase(dir, "keygate");
  const env = { KEYGATE_DB: history.path };
  const published = join(dir, "published.pem");
  writeFileSync(published, keygate(["audit", "public-key"], env).stdout);
  renameSync(join(dir, "keygate-checkpoint.key"), join(dir, "kept-elsewhere.key"));
  tamperWithProjections(history.path, history.keyId);

  const asked = keygate(["rebuild"], env);
  expect(asked.code).toBe(1);
  expect(asked.stderr).toContain("give --public-key FILE");
  const other = join(dir, "other.pem");
  writeFileSync(
    other,
    generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
  );
  const wrong = keygate(["rebuild", "--public-key", other], env);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("the log does not verify");
  const unreadable = keygate(["rebuild", "--public-key", join(dir, "absent.pem")], env);
  expect(unreadable.code).toBe(2);
  expect(unreadable.stderr).toContain("--public-key");
  expect(forgedSecrets(history.path)).toEqual([{ key_id: history.keyId }]);

  expect(keygate(["rebuild", "--public-key", published], env).code).toBe(0);
  expect(forgedSecrets(history.path)).toEqual([]);
});

test("refused while a server serves the database, naming it; nothing changes and the server keeps its lock", async () => {
  const history = await historyDatabase(tmp.dir, "rebuild-served");
  const env = { KEYGATE_DB: history.path };
  tamperWithProjections(history.path, history.keyId);
  // A live process whose arguments include `serve`, as every Keygate server's do.
  const server = await processWithArgument("serve");
  try {
    writeFileSync(`${history.path}.serve.pid`, `${server.pid}\n`);
    const refused = keygate(["rebuild"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `keygate: the database ${history.path} is served by keygate serve (pid ${server.pid}): stop the server before a rebuild, and start it after (its in-memory key index would go on serving the rows the rebuild replaces)\n`,
    );
    expect(forgedSecrets(history.path)).toEqual([{ key_id: history.keyId }]);
    expect(readFileSync(`${history.path}.serve.pid`, "utf8")).toBe(`${server.pid}\n`);
  } finally {
    server.kill();
    await server.exited;
  }
});

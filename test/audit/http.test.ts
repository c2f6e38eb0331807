/**
 * The audits over HTTP: `GET /v1/audit/checkpoint`, the latest signed checkpoint, checkable
 * with its PEM key (and a checkpoint the disk has no room for); `GET /v1/audit/verify` and
 * `GET /v1/audit/replay`, the CLI's verify and replay run by the server for a live platform key.
 */
import { afterAll, expect, test } from "bun:test";
import { createPublicKey, verify } from "node:crypto";
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { CommitFailedError } from "../../src/store/commit-failed-error.ts";
import { turnsWhile } from "../support/event-loop.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { tempDir } from "../support/keygate.ts";

const testApp = testAppPerTest();
const files = tempDir();
afterAll(files.remove);
let serial = 0;

/** A test app on a database file, which the audits' worker thread can open. */
function appOnFile() {
  return testApp({ env: { KEYGATE_DB: join(files.dir, `audit-${serial++}.sqlite`) } });
}

test("404 before the first checkpoint; then the checkpoint, its message and its key", async () => {
  const { kg, call, live, clock } = testApp();
  expect(codeOf(await call("GET", "/v1/audit/checkpoint", { key: live }))).toBe("resource_missing");
  appendCheckpoint(kg.db.sql, checkpointKey(kg.config, kg.db.sql), clock.now());
  const reply = await call("GET", "/v1/audit/checkpoint", { key: live });
  expect(reply.status).toBe(200);
  const c = reply.body;
  expect(c).toMatchObject({ object: "checkpoint", size: kg.store.headPosition() });
  expect(c.message).toBe(
    `keygate-checkpoint/v1 size=${c.size} head=${c.head_hash} time=${c.created_at}`,
  );
  expect(
    verify(
      null,
      Buffer.from(c.message),
      createPublicKey(c.public_key_pem),
      Buffer.from(c.signature, "base64"),
    ),
  ).toBe(true);
});

test("needs events:read", async () => {
  const { call, live } = testApp();
  const other = await call("POST", "/v1/api-keys", {
    key: live,
    body: { name: "x", scopes: ["links:read"] },
  });
  const reply = await call("GET", "/v1/audit/checkpoint", { key: other.body.secret });
  expect(reply.status).toBe(403);
});

test("a checkpoint the database has no room for is refused as nothing changed, and none is kept", () => {
  const { kg, clock } = testApp();
  const key = checkpointKey(kg.config, kg.db.sql);
  const count = () =>
    kg.db.sql.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM checkpoints").get()?.n;
  const pages = kg.db.sql.prepare<{ page_count: number }>("PRAGMA page_count").get();
  // The database may not grow: the first write that needs a new page fails (SQLITE_FULL).
  kg.db.sql.exec(`PRAGMA max_page_count = ${pages?.page_count}`);
  const sign = () => appendCheckpoint(kg.db.sql, key, clock.now(), true);
  let failure: unknown;
  for (let i = 0; i < 1000 && failure === undefined; i++) {
    try {
      sign();
    } catch (error) {
      failure = error;
    }
  }
  expect(failure).toBeInstanceOf(CommitFailedError);
  expect((failure as CommitFailedError).cause).toBeInstanceOf(Error);
  const kept = count();
  expect(sign).toThrow(CommitFailedError);
  expect(count()).toBe(kept);
  kg.db.sql.exec("PRAGMA max_page_count = 1000000");
  expect(sign().created).toBe(true);
  expect(count()).toBe((kept ?? 0) + 1);
});

test("verify: the verdict on the whole log, from a thread of its own; a changed byte is named", async () => {
  const { kg, call, live, clock } = appOnFile();
  const head = kg.store.headPosition();
  // The server goes on serving meanwhile: the event loop turns while the worker verifies.
  const { result: first, turns } = await turnsWhile(() =>
    call("GET", "/v1/audit/verify", { key: live }),
  );
  expect(turns).toBeGreaterThanOrEqual(2);
  expect(first.status).toBe(200);
  expect(first.body).toEqual({
    object: "log_verification",
    intact: true,
    events: head,
    head_hash: kg.store.readAll().at(-1)?.hash,
    checkpoint: null,
    position: null,
    problem: null,
  });
  const { checkpoint } = appendCheckpoint(
    kg.db.sql,
    checkpointKey(kg.config, kg.db.sql),
    clock.now(),
  );
  const signed = await call("GET", "/v1/audit/verify", { key: live });
  expect(signed.body.checkpoint).toEqual({
    size: head,
    head_hash: checkpoint.head_hash,
    created_at: checkpoint.created_at,
  });
  kg.db.sql.exec("DROP TRIGGER events_no_update");
  kg.db.sql.exec("UPDATE events SET recorded_at = '2000-01-01T00:00:00.000Z' WHERE position = 2");
  const broken = await call("GET", "/v1/audit/verify", { key: live });
  expect(broken.status).toBe(200);
  expect(broken.body).toMatchObject({ intact: false, events: 1, position: 2, head_hash: null });
  expect(broken.body.problem).toContain("hash");
});

test("verify where the checkpoint key is kept away from the server: each signature is checked, its signer is not, and no key is made", async () => {
  const keyPath = join(files.dir, `away-${serial}.key`);
  const { kg, call, live, clock } = testApp({
    env: {
      KEYGATE_DB: join(files.dir, `audit-${serial++}.sqlite`),
      KEYGATE_CHECKPOINT_KEY: keyPath,
    },
  });
  appendCheckpoint(kg.db.sql, checkpointKey(kg.config, kg.db.sql), clock.now());
  renameSync(keyPath, `${keyPath}.offline`);
  const away = await call("GET", "/v1/audit/verify", { key: live });
  expect(away.body).toMatchObject({ intact: true, checkpoint: { size: kg.store.headPosition() } });
  expect(existsSync(keyPath)).toBe(false);
  kg.db.sql.exec("DROP TRIGGER checkpoints_no_update");
  kg.db.sql.exec(
    "UPDATE checkpoints SET signature = replace(signature, substr(signature, 1, 4), 'AAAA')",
  );
  const forged = await call("GET", "/v1/audit/verify", { key: live });
  expect(forged.body).toMatchObject({
    intact: false,
    problem: "the latest signed checkpoint's signature is not valid",
  });
});

test("verify on a database in memory runs on the serving thread, to the same verdict", async () => {
  const { kg, call, live } = testApp();
  const reply = await call("GET", "/v1/audit/verify", { key: live });
  expect(reply.body).toMatchObject({ intact: true, events: kg.store.headPosition() });
});

test("replay: identical, then the row edited behind the log, on both sides", async () => {
  const { kg, call, live } = appOnFile();
  const { result: same, turns } = await turnsWhile(() =>
    call("GET", "/v1/audit/replay", { key: live }),
  );
  expect(turns).toBeGreaterThanOrEqual(2);
  expect(same.status).toBe(200);
  expect(same.body).toMatchObject({
    object: "log_replay",
    identical: true,
    events: kg.store.headPosition(),
    differences: [],
  });
  expect(same.body.tables).toContain("api_keys");
  kg.db.sql.exec("UPDATE api_keys SET name = 'renamed behind the log'");
  const differs = await call("GET", "/v1/audit/replay", { key: live });
  expect(differs.body.identical).toBe(false);
  expect(differs.body.differences.map((d: { table: string }) => d.table)).toEqual(["api_keys"]);
  const [{ only_in_live, only_in_replay }] = differs.body.differences;
  expect(only_in_live.map((row: { name: string }) => row.name)).toEqual([
    "renamed behind the log",
    "renamed behind the log",
  ]);
  expect(only_in_replay).toHaveLength(2);
  // A database in memory cannot be replayed: no other connection can read it.
  const memory = testApp();
  const refused = await memory.call("GET", "/v1/audit/replay", { key: memory.live });
  expect(refused.status).toBe(400);
  expect(codeOf(refused)).toBe("invalid_request");
});

test("verify and replay read every entity's events: a live platform key only", async () => {
  const { call, live, test: testKey } = appOnFile();
  const merchant = await call("POST", "/v1/entities", {
    key: live,
    body: { kind: "merchant", name: "M" },
  });
  const below = await call("POST", "/v1/api-keys", {
    key: live,
    body: { name: "auditor", scopes: ["events:read"], entity_id: merchant.body.id },
  });
  const narrow = await call("POST", "/v1/api-keys", {
    key: live,
    body: { name: "no events", scopes: ["links:read"] },
  });
  for (const path of ["/v1/audit/verify", "/v1/audit/replay"]) {
    expect(codeOf(await call("GET", path, { key: below.body.secret }))).toBe("entity_forbidden");
    expect(codeOf(await call("GET", path, { key: testKey }))).toBe("environment_forbidden");
    expect(codeOf(await call("GET", path, { key: narrow.body.secret }))).toBe("insufficient_scope");
    expect(codeOf(await call("GET", path))).toBe("api_key_missing");
  }
});

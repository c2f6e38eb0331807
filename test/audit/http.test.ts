/**
 * `GET /v1/audit/checkpoint`: the latest signed checkpoint, checkable with its PEM key; and a
 * checkpoint the disk has no room for.
 */
import { expect, test } from "bun:test";
import { createPublicKey, verify } from "node:crypto";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { CommitFailedError } from "../../src/store/commit-failed-error.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";

const testApp = testAppPerTest();

test("404 before the first checkpoint; then the checkpoint, its message and its key", async () => {
  const { kg, call, live, clock } = testApp();
  expect(codeOf(await call("GET", "/v1/audit/checkpoint", { key: live }))).toBe("resource_missing");
  appendCheckpoint(kg.db.sql, checkpointKey(kg.config), clock.now());
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
  const key = checkpointKey(kg.config);
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

/** `GET /v1/audit/checkpoint`: the latest signed checkpoint, checkable with its PEM key. */
import { expect, test } from "bun:test";
import { createPublicKey, verify } from "node:crypto";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
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

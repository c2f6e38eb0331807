/**
 * presets/crypto-checkout.json against Crypto Checkout's authentication page (seeds/002):
 * `ck_{mode}_{32 base62}` keys shown once and stored as SHA-256, Bearer only, `resource:action`
 * scopes where read never implies write, live and test fully isolated with `livemode`, the
 * JSON error envelope with `requestId`, 403 naming the missing scope, 429 `rate_limited`,
 * Idempotency-Key replay.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { generateKey } from "../../../src/keys/key-format.ts";
import { tempDir } from "../../support/keygate.ts";
import { type RunningPreset, startPreset } from "../../support/preset.ts";

const tmp = tempDir();
let shop: RunningPreset;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createKey(body: object, as = shop.live) {
  const reply = await shop.call("POST", "/v1/api-keys", { headers: bearer(as), body });
  expect(reply.status).toBe(200);
  return reply.body as { id: string; secret: string; livemode: boolean };
}

beforeAll(async () => {
  shop = await startPreset("crypto-checkout", tmp.dir);
}, 60_000);
afterAll(async () => {
  await shop?.stop();
  tmp.remove();
});

test("keys are ck_{mode}_{32 base62}, shown once, stored only as a SHA-256 hash", async () => {
  const key = await createKey({ name: "webhooks", scopes: ["links:read"] });
  expect(key.secret).toMatch(/^ck_live_[A-Za-z0-9]{32}$/);
  expect(shop.test).toMatch(/^ck_test_[A-Za-z0-9]{32}$/);
  const again = await shop.call("GET", `/v1/api-keys/${key.id}`, { headers: bearer(shop.live) });
  expect(again.body.secret).toBeUndefined();
  expect(again.text).not.toContain(key.secret);
  const db = new Database(join(tmp.dir, "crypto-checkout", "keygate.sqlite"), { readonly: true });
  try {
    const digest = createHash("sha256").update(key.secret).digest("hex");
    expect(
      db.query("SELECT key_id FROM api_key_secrets WHERE secret_hash = ?").get(digest),
    ).toEqual({
      key_id: key.id,
    });
  } finally {
    db.close();
  }
});

test("the Bearer key reaches the API; the upstream learns its mode", async () => {
  shop.upstream.calls.length = 0;
  const reply = await shop.call("GET", "/api/v1/checkout_sessions", { headers: bearer(shop.test) });
  expect(reply.status).toBe(200);
  expect(shop.upstream.calls[0]?.headers.get("x-keygate-livemode")).toBe("false");
  expect(shop.upstream.calls[0]?.headers.get("authorization")).toBeNull();
});

test("missing, malformed or invalid: 401 in the standard envelope, before any business logic", async () => {
  shop.upstream.calls.length = 0;
  const unknown = generateKey("ck", "live");
  for (const headers of [{}, bearer("ck_live_YOUR_KEY"), bearer(unknown)]) {
    const reply = await shop.call("GET", "/api/v1/checkout_sessions", { headers });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({
      error: {
        type: "authentication",
        code: "invalid_api_key",
        message: expect.any(String),
        requestId: expect.stringMatching(/^req_/),
      },
    });
    expect(reply.headers.get("x-request-id")).toBe(reply.body.error.requestId);
  }
  const invalid = await shop.call("GET", "/api/v1/checkout_sessions", { headers: bearer(unknown) });
  expect(invalid.body.error.message).toBe("No valid API key was provided.");
  expect(shop.upstream.calls).toHaveLength(0);
});

test("read scopes do not imply write: 403 with type permission, naming the missing scope", async () => {
  const reader = await createKey({ name: "reporting", scopes: ["links:read", "sessions:write"] });
  expect(
    (await shop.call("GET", "/api/v1/payment_links", { headers: bearer(reader.secret) })).status,
  ).toBe(200);
  const write = await shop.call("POST", "/api/v1/payment_links", {
    headers: bearer(reader.secret),
    body: { amount: 10 },
  });
  expect(write.status).toBe(403);
  expect(write.body.error.type).toBe("permission");
  expect(write.body.error.message).toContain("links:write");
  const read = await shop.call("GET", "/api/v1/checkout_sessions", {
    headers: bearer(reader.secret),
  });
  expect(read.status).toBe(403);
  expect(read.body.error.message).toContain("sessions:read");
});

test("live and test are isolated: a live key cannot see a test key; objects carry livemode", async () => {
  const testKey = await createKey({ name: "sandbox", scopes: ["links:read"] }, shop.test);
  expect(testKey.livemode).toBe(false);
  const fromLive = await shop.call("GET", `/v1/api-keys/${testKey.id}`, {
    headers: bearer(shop.live),
  });
  expect(fromLive.status).toBe(404);
  expect(fromLive.body.error.code).toBe("resource_missing");
  const fromTest = await shop.call("GET", `/v1/api-keys/${testKey.id}`, {
    headers: bearer(shop.test),
  });
  expect(fromTest.body.livemode).toBe(false);
  const crossing = await shop.call("POST", "/v1/api-keys", {
    headers: bearer(shop.live),
    body: { name: "x", scopes: ["links:read"], environment: "test" },
  });
  expect(crossing.status).toBe(403);
});

test("over the key's limit: 429 with type rate_limited", async () => {
  const limited = await createKey({
    name: "limited",
    scopes: ["sessions:read"],
    rate_limit: { limit: 2, window_seconds: 60 },
  });
  const statuses: number[] = [];
  let last: Awaited<ReturnType<RunningPreset["call"]>> | undefined;
  for (let i = 0; i < 3; i++) {
    last = await shop.call("GET", "/api/v1/checkout_sessions", { headers: bearer(limited.secret) });
    statuses.push(last.status);
  }
  expect(statuses).toEqual([200, 200, 429]);
  expect(last?.body.error.type).toBe("rate_limited");
});

test("Idempotency-Key on a mutating request: a replay returns the original without re-running it", async () => {
  shop.upstream.calls.length = 0;
  const create = () =>
    shop.call("POST", "/api/v1/checkout_sessions", {
      headers: { ...bearer(shop.live), "idempotency-key": "session-42-attempt" },
      body: { link: "plink_1" },
    });
  const first = await create();
  const replay = await create();
  expect(replay.text).toBe(first.text);
  expect(replay.headers.get("idempotent-replayed")).toBe("true");
  expect(shop.upstream.calls).toHaveLength(1);
});

test("a revoked key gets 401 invalid_api_key on its next request", async () => {
  const key = await createKey({ name: "temp", scopes: ["events:read"] });
  expect((await shop.call("GET", "/api/v1/events", { headers: bearer(key.secret) })).status).toBe(
    200,
  );
  await shop.call("POST", `/v1/api-keys/${key.id}/revoke`, {
    headers: bearer(shop.live),
    body: {},
  });
  const after = await shop.call("GET", "/api/v1/events", { headers: bearer(key.secret) });
  expect(after.status).toBe(401);
  expect(after.body.error.code).toBe("invalid_api_key");
});

/**
 * presets/certopay.json against CertoPay's authentication page (seeds/001): `X-Api-Key` for
 * every payment call; a short-lived JWT for management only (login, the current key's
 * metadata, regenerate), refused on the payment endpoints; 100 requests per minute on a
 * rolling 60-second window (never more than 100 in any 60 seconds); the error codes
 * `invalid_api_key`, `expired_token`, `insufficient_permissions`, `rate_limit_exceeded`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testApp } from "../../support/http.ts";
import { tempDir } from "../../support/keygate.ts";
import { awayFromMinuteBoundary, type RunningPreset, startPreset } from "../../support/preset.ts";
import { ROOT } from "../../support/spawn.ts";

const tmp = tempDir();
let certo: RunningPreset;
let seller: { id: string };
let apiKey: { id: string; secret: string };
let jwt: string;

const apiKeyHeader = (secret: string) => ({ "x-api-key": secret });

beforeAll(async () => {
  certo = await startPreset("certopay", tmp.dir);
  const platform = apiKeyHeader(certo.live);
  seller = (
    await certo.call("POST", "/v1/entities", {
      headers: platform,
      body: { kind: "merchant", name: "Seller" },
    })
  ).body;
  apiKey = (
    await certo.call("POST", "/v1/api-keys", {
      headers: platform,
      body: {
        name: "checkout server",
        scopes: ["payments:write", "orders:read", "orders:write", "customers:read"],
        entity_id: seller.id,
      },
    })
  ).body;
  certo.cli(
    "users",
    "create",
    "--email",
    "owner@seller.test",
    "--entity",
    seller.id,
    "--password",
    "correct horse battery",
  );
  const login = await certo.call("POST", "/v1/auth/login", {
    body: { email: "owner@seller.test", password: "correct horse battery" },
  });
  expect(login.status).toBe(200);
  jwt = login.body.token;
}, 60_000);
afterAll(async () => {
  await certo?.stop();
  tmp.remove();
});

test("the X-Api-Key header authenticates payment calls", async () => {
  certo.upstream.calls.length = 0;
  const reply = await certo.call("POST", "/api/payment-gateway/process", {
    headers: apiKeyHeader(apiKey.secret),
    body: { amount: 1200 },
  });
  expect(reply.status).toBe(201);
  const seen = certo.upstream.calls[0]?.headers as Headers;
  expect(seen.get("x-keygate-entity-id")).toBe(seller.id);
  expect(seen.get("x-api-key")).toBeNull();
});

test("missing, malformed (a Bearer key) or unknown: 401 invalid_api_key", async () => {
  certo.upstream.calls.length = 0;
  for (const headers of <Record<string, string>[]>[
    {},
    { authorization: `Bearer ${apiKey.secret}` },
    apiKeyHeader(`${apiKey.secret.slice(0, 8)}${"0".repeat(32)}`),
  ]) {
    const reply = await certo.call("GET", "/api/orders", { headers });
    expect(reply.status).toBe(401);
    expect(reply.body.error.code).toBe("invalid_api_key");
  }
  expect(certo.upstream.calls).toHaveLength(0);
});

test("JWTs are not accepted on the payment endpoints", async () => {
  for (const [method, path] of [
    ["POST", "/api/payment-gateway/process"],
    ["GET", "/api/orders"],
    ["GET", "/api/customers"],
  ] as const) {
    const reply = await certo.call(method, path, { headers: { authorization: `Bearer ${jwt}` } });
    expect(reply.status).toBe(401);
  }
});

test("retrieve the current key's metadata with the JWT: id, name, prefix, masked, active, limit per minute, last used, created", async () => {
  await certo.call("GET", "/api/orders", { headers: apiKeyHeader(apiKey.secret) });
  let key: Record<string, unknown> = {};
  for (let tries = 0; tries < 70 && !key.last_used_at; tries++) {
    if (tries > 0) await Bun.sleep(100);
    key = (
      await certo.call("GET", `/v1/api-keys/${apiKey.id}`, {
        headers: { authorization: `Bearer ${jwt}` },
      })
    ).body;
  }
  expect(key).toMatchObject({
    id: apiKey.id,
    name: "checkout server",
    prefix: apiKey.secret.slice(0, 16),
    active: true,
    rate_limit: { limit: 100, window_seconds: 60 },
  });
  expect(key.masked).toMatch(/^sk_live_•+.{4}$/);
  expect(Date.parse(key.created_at as string)).not.toBeNaN();
  expect(Date.parse(key.last_used_at as string)).not.toBeNaN();
  expect(JSON.stringify(key)).not.toContain(apiKey.secret);
});

test("regenerate with the JWT: a new secret, and the old one fails with 401 at once", async () => {
  const regenerated = await certo.call("POST", `/v1/api-keys/${apiKey.id}/rotate`, {
    headers: { authorization: `Bearer ${jwt}` },
    body: {},
  });
  expect(regenerated.status).toBe(200);
  const fresh = regenerated.body.secret as string;
  const old = await certo.call("GET", "/api/orders", { headers: apiKeyHeader(apiKey.secret) });
  expect(old.status).toBe(401);
  expect(old.body.error.code).toBe("invalid_api_key");
  expect((await certo.call("GET", "/api/orders", { headers: apiKeyHeader(fresh) })).status).toBe(
    200,
  );
  apiKey = { ...apiKey, secret: fresh };
});

test("a key without the permission: 403 insufficient_permissions", async () => {
  const reply = await certo.call("POST", "/api/customers", {
    headers: apiKeyHeader(apiKey.secret),
    body: { email: "c@example.test" },
  });
  expect(reply.status).toBe(403);
  expect(reply.body.error.code).toBe("insufficient_permissions");
});

test("100 requests per minute per key, then 429 rate_limit_exceeded with Retry-After", async () => {
  const key = (
    await certo.call("POST", "/v1/api-keys", {
      headers: apiKeyHeader(certo.live),
      body: { name: "burst", scopes: ["orders:read"], entity_id: seller.id },
    })
  ).body.secret as string;
  certo.upstream.calls.length = 0;
  const statuses: number[] = [];
  await awayFromMinuteBoundary();
  let last = await certo.call("GET", "/api/orders", { headers: apiKeyHeader(key) });
  statuses.push(last.status);
  for (let i = 1; i < 101; i++) {
    last = await certo.call("GET", "/api/orders", { headers: apiKeyHeader(key) });
    statuses.push(last.status);
  }
  expect(statuses.filter((s) => s === 200)).toHaveLength(100);
  expect(statuses[100]).toBe(429);
  expect(last.body.error.code).toBe("rate_limit_exceeded");
  expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(last.headers.get("x-ratelimit-limit")).toBe("100");
  expect(certo.upstream.calls).toHaveLength(100);
}, 20_000);

/** The preset in process, with a test clock, for what takes minutes of real time. */
function certoInProcess() {
  const preset = JSON.parse(readFileSync(join(ROOT, "presets", "certopay.json"), "utf8"));
  return testApp({
    config: { ...preset, gateway: { ...preset.gateway, upstream: "http://127.0.0.1:9" } },
  });
}

test("the window rolls: no 60 seconds hold more than 100 requests, a burst at the end of a minute included", async () => {
  const app = certoInProcess();
  try {
    // 55 s into a minute, spend all 100. 10 s later (5 s past the boundary) a fixed window
    // would allow 100 again; the rolling one counts them until the second they were sent in
    // has left it — a minute later, at 56 s past the next minute.
    const intoMinute = (app.clock.now().getTime() / 1000) % 60;
    app.clock.advance((55 - intoMinute + 60) % 60);
    const verify = () => app.call("GET", "/v1/me", { headers: { "x-api-key": app.live } });
    for (let i = 0; i < 100; i++) expect((await verify()).status).toBe(200);
    expect((await verify()).body.error.code).toBe("rate_limit_exceeded");
    app.clock.advance(10);
    const refused = await verify();
    expect(refused.body.error.code).toBe("rate_limit_exceeded");
    expect(refused.headers.get("retry-after")).toBe("51");
    app.clock.advance(50.5); // 0.5 s before the burst's second leaves the window
    expect((await verify()).status).toBe(429);
    app.clock.advance(0.5);
    let allowed = 0;
    while ((await verify()).status === 200) allowed++;
    expect(allowed).toBe(100);
  } finally {
    app.close();
  }
});

test("an expired JWT: 401 expired_token", async () => {
  const app = certoInProcess();
  try {
    const seller = await app.call("POST", "/v1/entities", {
      headers: { "x-api-key": app.live },
      body: { kind: "merchant", name: "S" },
    });
    await app.call("POST", "/v1/users", {
      headers: { "x-api-key": app.live },
      body: { email: "o@s.test", password: "correct horse battery", entity_id: seller.body.id },
    });
    const login = await app.call("POST", "/v1/auth/login", {
      body: { email: "o@s.test", password: "correct horse battery" },
    });
    const token = { authorization: `Bearer ${login.body.token}` };
    expect((await app.call("GET", "/v1/api-keys", { headers: token })).status).toBe(200);
    app.clock.advance(24 * 3600);
    const expired = await app.call("GET", "/v1/api-keys", { headers: token });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe("expired_token");
  } finally {
    app.close();
  }
});

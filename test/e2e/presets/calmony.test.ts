/**
 * presets/calmony.json against Calmony Pay's v1.0.3 notes (seeds/000): Bearer `sk_live_` /
 * `sk_test_` keys stored hashed, the key resolving its project for the handlers behind,
 * 100 requests per second per key with 429 + `Retry-After: 1`, `Idempotency-Key` on every
 * POST with a 24-hour replay window.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testApp } from "../../support/http.ts";
import { tempDir } from "../../support/keygate.ts";
import { type RunningPreset, startPreset } from "../../support/preset.ts";
import { ROOT } from "../../support/spawn.ts";

const tmp = tempDir();
let calmony: RunningPreset;
let project: { id: string };
let projectKey: string;

beforeAll(async () => {
  calmony = await startPreset("calmony", tmp.dir);
  const bearer = { authorization: `Bearer ${calmony.live}` };
  project = (
    await calmony.call("POST", "/v1/entities", {
      headers: bearer,
      body: { kind: "merchant", name: "Project Alpha" },
    })
  ).body;
  projectKey = (
    await calmony.call("POST", "/v1/api-keys", {
      headers: bearer,
      body: { name: "backend", scopes: ["payments:read", "payments:write"], entity_id: project.id },
    })
  ).body.secret;
}, 60_000);
afterAll(async () => {
  await calmony?.stop();
  tmp.remove();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

test("a Bearer secret key is resolved to its project before the handler runs", async () => {
  calmony.upstream.calls.length = 0;
  const reply = await calmony.call("GET", "/v1/payments/pay_1", { headers: bearer(projectKey) });
  expect(reply.status).toBe(200);
  const seen = calmony.upstream.calls[0]?.headers as Headers;
  expect(seen.get("x-keygate-entity-id")).toBe(project.id);
  expect(seen.get("x-keygate-livemode")).toBe("true");
  expect(seen.get("authorization")).toBeNull();
  expect(projectKey).toMatch(/^sk_live_[A-Za-z0-9]{32}$/);
  const sandbox = await calmony.call("GET", "/v1/payments/pay_1", {
    headers: bearer(calmony.test),
  });
  expect(sandbox.status).toBe(200);
  expect(calmony.upstream.calls[1]?.headers.get("x-keygate-livemode")).toBe("false");
});

test("only Bearer: the key in X-Api-Key or Basic is refused, and so is no key at all", async () => {
  calmony.upstream.calls.length = 0;
  for (const headers of <Record<string, string>[]>[
    {},
    { "x-api-key": projectKey },
    { authorization: `Basic ${Buffer.from(`pk:${projectKey}`).toString("base64")}` },
  ]) {
    expect((await calmony.call("GET", "/v1/payments/pay_1", { headers })).status).toBe(401);
  }
  expect(calmony.upstream.calls).toHaveLength(0);
});

test("keys are stored hashed in api_keys: the SHA-256 of the secret, never the secret", () => {
  const file = join(tmp.dir, "calmony", "keygate.sqlite");
  const db = new Database(file, { readonly: true });
  try {
    const digest = createHash("sha256").update(projectKey).digest("hex");
    const row = db
      .query("SELECT count(*) AS n FROM api_key_secrets WHERE secret_hash = ?")
      .get(digest) as { n: number };
    expect(row.n).toBe(1);
  } finally {
    db.close();
  }
  for (const suffix of ["", "-wal"]) {
    const bytes = readFileSync(`${file}${suffix}`, { flag: "r" });
    expect(bytes.includes(Buffer.from(projectKey))).toBe(false);
  }
});

test("100 requests per second per key: the next gets 429 with Retry-After: 1", async () => {
  const fresh = (
    await calmony.call("POST", "/v1/api-keys", {
      headers: bearer(calmony.live),
      body: { name: "burst", scopes: ["payments:read"], entity_id: project.id },
    })
  ).body.secret as string;
  calmony.upstream.calls.length = 0;
  // Bursts of 60 until one is refused; windows are whole seconds, so count per window.
  const replies: { status: number; reset: string | null; retryAfter: string | null }[] = [];
  for (let burst = 0; burst < 20 && !replies.some((r) => r.status === 429); burst++) {
    const batch = await Promise.all(
      Array.from({ length: 60 }, () =>
        calmony.call("GET", "/v1/payments", { headers: bearer(fresh) }),
      ),
    );
    for (const r of batch) {
      replies.push({
        status: r.status,
        reset: r.headers.get("x-ratelimit-reset"),
        retryAfter: r.headers.get("retry-after"),
      });
      if (r.status === 429) expect(r.body.error.code).toBe("rate_limited");
    }
  }
  const refused = replies.filter((r) => r.status === 429);
  expect(refused.length).toBeGreaterThan(0);
  expect(new Set(refused.map((r) => r.retryAfter))).toEqual(new Set(["1"]));
  const perWindow = new Map<string | null, number>();
  for (const r of replies.filter((r) => r.status === 200))
    perWindow.set(r.reset, (perWindow.get(r.reset) ?? 0) + 1);
  for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(100);
  expect(refused.some((r) => perWindow.get(r.reset) === 100)).toBe(true);
  expect(calmony.upstream.calls).toHaveLength(replies.length - refused.length);
});

test("Idempotency-Key on a POST: the retry returns the original response and is not re-run", async () => {
  calmony.upstream.calls.length = 0;
  const charge = () =>
    calmony.call("POST", "/v1/payments", {
      headers: { ...bearer(projectKey), "idempotency-key": "a8098c1a-f86e-11da-bd1a-00112444be1e" },
      body: { amount: 1999, currency: "usd" },
    });
  const first = await charge();
  const retry = await charge();
  expect(first.status).toBe(201);
  expect(retry.status).toBe(201);
  expect(retry.text).toBe(first.text);
  expect(retry.headers.get("idempotent-replayed")).toBe("true");
  expect(calmony.upstream.calls).toHaveLength(1);
});

test("after 24 hours the Idempotency-Key is new again (the preset, with a test clock)", async () => {
  const preset = JSON.parse(readFileSync(join(ROOT, "presets", "calmony.json"), "utf8"));
  const calls: number[] = [];
  const upstream = Bun.serve({
    port: 0,
    fetch: () => {
      calls.push(1);
      return Response.json({ id: `pay_${calls.length}` }, { status: 201 });
    },
  });
  const app = testApp({
    config: {
      ...preset,
      gateway: { ...preset.gateway, upstream: `http://127.0.0.1:${upstream.port}` },
    },
  });
  try {
    const charge = () =>
      app.call("POST", "/v1/payments", {
        key: app.live,
        headers: { "idempotency-key": "order-2026-0001" },
        body: { amount: 1 },
      });
    expect((await charge()).body.id).toBe("pay_1");
    app.clock.advance(24 * 3600 - 1);
    expect((await charge()).body.id).toBe("pay_1");
    app.clock.advance(2);
    expect((await charge()).body.id).toBe("pay_2");
    expect(calls).toHaveLength(2);
  } finally {
    app.close();
    upstream.stop(true);
  }
});

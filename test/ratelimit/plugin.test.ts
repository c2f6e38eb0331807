import { describe, expect, test } from "bun:test";
import { createApiKey, rotateApiKey, updateApiKey } from "../../src/commands/api-keys.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { FakeClock, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();
function setup(config?: object) {
  return openTestApp({
    clock: new FakeClock("2026-03-01T12:00:00.000Z"),
    ...(config ? { config } : {}),
  });
}

describe("rate limiting over HTTP", () => {
  test("every authenticated response carries the rate-limit headers; others do not", async () => {
    const t = setup();
    const reply = await t.call("GET", "/v1/me", { key: t.live });
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
    expect(reply.headers.get("x-ratelimit-remaining")).toBe("99");
    expect(reply.headers.get("x-ratelimit-reset")).toBe(
      String(Date.parse("2026-03-01T12:00:01.000Z") / 1000),
    );
    expect(reply.headers.get("ratelimit-policy")).toBe('"default";q=100;w=1');
    expect(reply.headers.get("ratelimit")).toBe('"default";r=99;t=1');
    expect((await t.call("GET", "/v1/me")).headers.get("x-ratelimit-limit")).toBeNull();
    expect((await t.call("GET", "/healthz")).headers.get("x-ratelimit-limit")).toBeNull();
  });

  test("a 403 is decided before the limiter: no headers, not counted; an error after it (404) carries them", async () => {
    const t = setup();
    const narrow = await t.call("POST", "/v1/api-keys", {
      key: t.live,
      body: { name: "narrow", scopes: ["links:read"] },
    });
    const secret = narrow.body.secret as string;
    const forbidden = await t.call("GET", "/v1/api-keys", { key: secret });
    expect([forbidden.status, codeOf(forbidden)]).toEqual([403, "insufficient_scope"]);
    expect(forbidden.headers.get("x-ratelimit-limit")).toBeNull();
    // Not counted: the key's first counted request leaves 99.
    const me = await t.call("GET", "/v1/me", { key: secret });
    expect(me.headers.get("x-ratelimit-remaining")).toBe("99");
    const missing = await t.call("GET", "/v1/api-keys/key_nope", { key: t.live });
    expect([missing.status, codeOf(missing)]).toEqual([404, "resource_missing"]);
    expect(missing.headers.get("x-ratelimit-limit")).toBe("100");
  });

  test("over the limit: 429 rate_limited in the envelope, Retry-After in whole seconds, headers kept", async () => {
    const t = setup();
    for (let i = 0; i < 100; i++)
      expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
    const refused = await t.call("GET", "/v1/me", { key: t.live });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "rate_limited", code: "rate_limited" });
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    // Another key has its own counter.
    expect((await t.call("GET", "/v1/me", { key: t.test })).status).toBe(200);
    t.clock.advance(1);
    expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
  });

  test("a key's own limit replaces the default; rotation keeps the count", async () => {
    const t = setup();
    const key = createApiKey(
      t.kg,
      { entityId: t.platform, environment: "live", name: "k", scopes: ["*"] },
      TEST_ACTOR,
    );
    updateApiKey(t.kg, key.id, { rateLimit: { limit: 2, window_seconds: 60 } }, TEST_ACTOR);
    const first = await t.call("GET", "/v1/me", { key: key.secret });
    expect(first.headers.get("ratelimit-policy")).toBe('"key";q=2;w=60');
    expect(first.headers.get("x-ratelimit-remaining")).toBe("1");
    const rotated = rotateApiKey(t.kg, key.id, 3600, TEST_ACTOR);
    expect((await t.call("GET", "/v1/me", { key: rotated.secret })).status).toBe(200);
    const refused = await t.call("GET", "/v1/me", { key: rotated.secret });
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([429, "60"]);
  });

  test("route policies apply on top, each request must pass all; code renamable (CertoPay)", async () => {
    const t = setup({
      rate_limits: {
        routes: [{ name: "me", method: "GET", path: "/v1/me", limit: 3, window_seconds: 60 }],
      },
      errors: { codes: { rate_limited: "rate_limit_exceeded" } },
    });
    for (let i = 0; i < 3; i++) {
      const ok = await t.call("GET", "/v1/me", { key: t.live });
      expect(ok.headers.get("ratelimit-policy")).toBe('"default";q=100;w=1, "me";q=3;w=60');
      expect(ok.headers.get("x-ratelimit-limit")).toBe("3");
    }
    const refused = await t.call("GET", "/v1/me", { key: t.live });
    expect([refused.status, codeOf(refused), refused.headers.get("retry-after")]).toEqual([
      429,
      "rate_limit_exceeded",
      "60",
    ]);
    // Other routes only see the default policy.
    expect(
      (await t.call("GET", "/v1/api-keys", { key: t.live })).headers.get("x-ratelimit-limit"),
    ).toBe("100");
  });

  test("a HEAD, served by the GET route, counts against the GET route's policy", async () => {
    const t = setup({
      rate_limits: {
        routes: [{ name: "me", method: "GET", path: "/v1/me", limit: 2, window_seconds: 60 }],
      },
    });
    expect((await t.call("HEAD", "/v1/me", { key: t.live })).headers.get("x-ratelimit-limit")).toBe(
      "2",
    );
    expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
    expect((await t.call("HEAD", "/v1/me", { key: t.live })).status).toBe(429);
  });

  test("the sliding option smooths the boundary (CertoPay's rolling 60-second window)", async () => {
    const t = setup({
      rate_limits: { default: { limit: 5, window_seconds: 60, algorithm: "sliding" } },
    });
    t.clock.advance(58); // 12:00:58
    for (let i = 0; i < 5; i++)
      expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
    t.clock.advance(3); // 12:01:01: a fixed window would allow 5 more here
    expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(429);
  });
});

describe("POST /v1/keys/verify", () => {
  test("counts against the verified key's own limit, not only the caller's", async () => {
    const t = setup();
    const verified = createApiKey(
      t.kg,
      { entityId: t.platform, environment: "live", name: "v", scopes: ["*"] },
      TEST_ACTOR,
    );
    updateApiKey(t.kg, verified.id, { rateLimit: { limit: 2, window_seconds: 60 } }, TEST_ACTOR);
    for (let i = 0; i < 2; i++) {
      expect(
        (await t.call("POST", "/v1/keys/verify", { key: t.live, body: { key: verified.secret } }))
          .body.valid,
      ).toBe(true);
    }
    const over = await t.call("POST", "/v1/keys/verify", {
      key: t.live,
      body: { key: verified.secret },
    });
    expect([over.status, over.body]).toEqual([
      200,
      { valid: false, code: "rate_limited", retry_after: 60 },
    ]);
    // The verified key's own requests share that count.
    expect((await t.call("GET", "/v1/me", { key: verified.secret })).status).toBe(429);
  });
});

describe("switching rate limits off", () => {
  test("rate_limits.enabled: false sends no headers and never refuses", async () => {
    const t = setup({ rate_limits: { enabled: false } });
    for (let i = 0; i < 150; i++)
      expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
    expect(
      (await t.call("GET", "/v1/me", { key: t.live })).headers.get("x-ratelimit-limit"),
    ).toBeNull();
  });
});

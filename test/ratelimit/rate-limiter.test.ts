import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { InMemoryCounterStore } from "../../src/ratelimit/counter-store.ts";
import { DEFAULT_POLICY, type RateLimitPolicy, RoutePolicies } from "../../src/ratelimit/policy.ts";
import { RateLimiter, rateLimitHeaders } from "../../src/ratelimit/rate-limiter.ts";
import { FakeClock } from "../support/keygate.ts";

const perMinute = (
  limit: number,
  algorithm: "fixed" | "sliding" = "fixed",
  name = "p",
): RateLimitPolicy => ({
  name,
  limit,
  windowSeconds: 60,
  algorithm,
});

function limiterAt(start: string) {
  const clock = new FakeClock(start);
  return { clock, limiter: new RateLimiter(new InMemoryCounterStore(), clock.now) };
}

describe("fixed windows", () => {
  test("default: 100 per second per key; the 101st is refused with Retry-After 1; the next second is fresh", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 100; i++)
      expect(limiter.check("key_a", [DEFAULT_POLICY]).allowed).toBe(true);
    const refused = limiter.check("key_a", [DEFAULT_POLICY]);
    expect([refused.allowed, refused.retryAfterSeconds]).toEqual([false, 1]);
    clock.advance(1);
    expect(limiter.check("key_a", [DEFAULT_POLICY]).allowed).toBe(true);
  });

  test("a wall clock stepped back grants no fresh allowance: the window keeps its count and ends when its second has passed", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:10.500Z");
    for (let i = 0; i < 100; i++) limiter.check("key_a", [DEFAULT_POLICY]);
    expect(limiter.check("key_a", [DEFAULT_POLICY]).allowed).toBe(false);
    clock.advance(-1.3); // 00:00:09.200: a window this key has already left
    const refused = limiter.check("key_a", [DEFAULT_POLICY]);
    expect([refused.allowed, refused.retryAfterSeconds]).toEqual([false, 1]);
    clock.advance(0.4);
    expect(limiter.check("key_a", [DEFAULT_POLICY]).allowed).toBe(false);
    clock.advance(0.1); // half a second of wall time since the step: the window's second is over
    expect(limiter.check("key_a", [DEFAULT_POLICY]).allowed).toBe(true);
  });

  test("windows are aligned to the epoch: header values at the start, middle and end of a window", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    const policy = perMinute(10);
    let decision = limiter.check("key_a", [policy]);
    expect(rateLimitHeaders(decision)).toEqual({
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "9",
      "x-ratelimit-reset": String(Date.parse("2026-01-01T00:01:00.000Z") / 1000),
      "ratelimit-policy": '"p";q=10;w=60',
      ratelimit: '"p";r=9;t=60',
    });
    clock.advance(30);
    for (let i = 0; i < 4; i++) decision = limiter.check("key_a", [policy]);
    expect(rateLimitHeaders(decision)).toMatchObject({
      "x-ratelimit-remaining": "5",
      ratelimit: '"p";r=5;t=30',
    });
    clock.advance(29.5);
    for (let i = 0; i < 5; i++) decision = limiter.check("key_a", [policy]);
    expect(rateLimitHeaders(decision)).toMatchObject({
      "x-ratelimit-remaining": "0",
      ratelimit: '"p";r=0;t=1',
    });
    const refused = limiter.check("key_a", [policy]);
    expect([refused.allowed, refused.retryAfterSeconds]).toEqual([false, 1]);
  });

  test("separate counters per key; refused requests do not count", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    const policy = perMinute(2);
    limiter.check("key_a", [policy]);
    limiter.check("key_a", [policy]);
    for (let i = 0; i < 5; i++) expect(limiter.check("key_a", [policy]).allowed).toBe(false);
    expect(limiter.check("key_b", [policy]).allowed).toBe(true);
    expect(limiter.store.count("key_a|p", Math.floor(clock.now().getTime() / 60_000))).toBe(2);
  });

  test("several policies at once: every one must pass; the tightest sets the headers and Retry-After", () => {
    const { limiter, clock } = limiterAt("2026-01-01T00:00:10.000Z");
    const perSecond: RateLimitPolicy = {
      name: "default",
      limit: 100,
      windowSeconds: 1,
      algorithm: "fixed",
    };
    const route = perMinute(3, "fixed", "POST /checkout");
    for (let i = 0; i < 3; i++)
      expect(limiter.check("key_a", [perSecond, route]).allowed).toBe(true);
    const refused = limiter.check("key_a", [perSecond, route]);
    expect(refused.allowed).toBe(false);
    expect(refused.tightest.policy.name).toBe("POST /checkout");
    expect(refused.retryAfterSeconds).toBe(50);
    expect(rateLimitHeaders(refused)["ratelimit-policy"]).toBe(
      '"default";q=100;w=1, "POST /checkout";q=3;w=60',
    );
    // The refused request was not counted against the per-second policy either.
    expect(limiter.store.count("key_a|default", Math.floor(clock.now().getTime() / 1000))).toBe(3);
  });
});

describe("sliding windows", () => {
  test("a fixed window lets a burst of twice the limit through at the boundary; the sliding window does not", () => {
    const burst = (algorithm: "fixed" | "sliding") => {
      const { clock, limiter } = limiterAt("2026-01-01T00:00:59.000Z");
      const policy = perMinute(10, algorithm);
      let allowed = 0;
      for (let i = 0; i < 10; i++) if (limiter.check("key_a", [policy]).allowed) allowed++;
      clock.advance(2); // 00:01:01, just past the boundary
      for (let i = 0; i < 10; i++) if (limiter.check("key_a", [policy]).allowed) allowed++;
      return allowed;
    };
    expect(burst("fixed")).toBe(20);
    expect(burst("sliding")).toBe(10);
  });

  test("the sliding window is rolling: no 60 seconds ever hold more than the limit, a burst at a window's end included", () => {
    // The weighted approximation this replaced let 199 of a limit of 100 through within a
    // minute: 100 at 00:00:59.9, then as the first window's weight faded, 99 more by 00:01:59.
    const { clock, limiter } = limiterAt("2026-01-01T00:00:59.900Z");
    const policy = perMinute(100, "sliding");
    const passed: number[] = [];
    for (let tick = 0; tick < 3000; tick++) {
      while (limiter.check("key_a", [policy]).allowed) passed.push(clock.now().getTime());
      clock.advance(0.1);
    }
    let busiest = 0;
    for (let last = 0, first = 0; last < passed.length; last++) {
      while ((passed[last] as number) - (passed[first] as number) >= 60_000) first++;
      busiest = Math.max(busiest, last - first + 1);
    }
    expect(busiest).toBe(100);
    // Counted per second, a request stops counting when its second leaves the window: the
    // burst at 00:00:59.9 frees its 100 at 00:02:00, not at 00:01:59.9 — the limit per 61 s.
    expect(passed.length).toBe(500);
    expect(passed.slice(99, 101).map((t) => new Date(t).toISOString())).toEqual([
      "2026-01-01T00:00:59.900Z",
      "2026-01-01T00:02:00.000Z",
    ]);
  });

  test("the sliding window frees room as its oldest seconds leave it, and says when", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    const policy = perMinute(10, "sliding");
    for (let i = 0; i < 4; i++) limiter.check("key_a", [policy]); // second 0
    clock.advance(10.5);
    for (let i = 0; i < 6; i++) limiter.check("key_a", [policy]); // second 10
    clock.advance(30); // 00:00:40.5
    const refused = limiter.check("key_a", [policy]);
    // Second 0 leaves the window at 00:01:01: 20.5 s from now, rounded up.
    expect([refused.allowed, refused.retryAfterSeconds]).toEqual([false, 21]);
    expect(rateLimitHeaders(refused)).toMatchObject({
      "x-ratelimit-remaining": "0",
      // Everything counted has stopped counting once second 10 has left: at 00:01:11.
      "x-ratelimit-reset": String(Date.parse("2026-01-01T00:01:11.000Z") / 1000),
      ratelimit: '"p";r=0;t=31',
    });
    clock.advance(19.5); // 00:01:00: second 0 still counts
    expect(limiter.check("key_a", [policy]).allowed).toBe(false);
    clock.advance(1); // 00:01:01
    for (let i = 0; i < 4; i++) expect(limiter.check("key_a", [policy]).allowed).toBe(true);
    const full = limiter.check("key_a", [policy]);
    expect([full.allowed, full.retryAfterSeconds]).toEqual([false, 10]);
  });

  test("a request that passes a sliding window counts until its sixtieth of the window has left it: the headers say when", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.250Z");
    const policy: RateLimitPolicy = { name: "s", limit: 1, windowSeconds: 1, algorithm: "sliding" };
    // Counted in the sixtieth of a second that began at .250 (sixtieth 15 of second 0); it
    // leaves the window when sixtieth 16 of second 1 begins: 00:00:01.267.
    expect(rateLimitHeaders(limiter.check("key_a", [policy]))).toMatchObject({
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(Math.ceil(Date.parse("2026-01-01T00:00:01.267Z") / 1000)),
      ratelimit: '"s";r=0;t=2',
    });
    clock.advance(1.016); // 00:00:01.266
    const refused = limiter.check("key_a", [policy]);
    expect([refused.allowed, refused.retryAfterSeconds]).toEqual([false, 1]);
    clock.advance(0.001); // 00:00:01.267
    expect(limiter.check("key_a", [policy]).allowed).toBe(true);
  });
});

test("a policy whose window changes length under the same name (a key's own limit, PATCHed) goes on limiting", () => {
  for (const algorithm of ["sliding", "fixed"] as const) {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    const before: RateLimitPolicy = { name: "key", limit: 1, windowSeconds: 1, algorithm };
    const after: RateLimitPolicy = { name: "key", limit: 2, windowSeconds: 60, algorithm };
    expect(limiter.check("key_a", [before]).allowed).toBe(true);
    clock.advance(1);
    // Shorter buckets have larger indices: after them, a minute's bucket lies "in the past".
    const passed = [0, 1, 2].map(() => limiter.check("key_a", [after]).allowed);
    expect({ algorithm, passed }).toEqual({ algorithm, passed: [true, true, false] });
  }
});

describe("memory", () => {
  test("a million distinct keys, then the counter table shrinks back once their windows end", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 1_000_000; i++) limiter.check(`key_${i}`, [DEFAULT_POLICY]);
    expect(limiter.store.size).toBe(1_000_000);
    clock.advance(2);
    limiter.store.sweep(clock.now().getTime());
    expect(limiter.store.size).toBe(0);
  }, 60_000);

  test("sliding windows too: each counter is dropped once its last count has left the window", () => {
    const { clock, limiter } = limiterAt("2026-01-01T00:00:00.000Z");
    const perSecond: RateLimitPolicy = { ...DEFAULT_POLICY, algorithm: "sliding" };
    for (let i = 0; i < 100_000; i++) limiter.check(`key_${i}`, [perSecond]);
    expect(limiter.store.size).toBe(100_000);
    clock.advance(1);
    limiter.store.sweep(clock.now().getTime());
    expect(limiter.store.size).toBe(100_000); // second 0's first sixtieth counts until 1.017
    clock.advance(0.017);
    limiter.store.sweep(clock.now().getTime());
    expect(limiter.store.size).toBe(0);
  });

  test("sweeps happen by themselves as new windows are used", () => {
    const clock = new FakeClock("2026-01-01T00:00:00.000Z");
    const limiter = new RateLimiter(new InMemoryCounterStore({ sweepEvery: 1000 }), clock.now);
    for (let i = 0; i < 5000; i++) limiter.check(`old_${i}`, [DEFAULT_POLICY]);
    clock.advance(5);
    for (let i = 0; i < 1000; i++) limiter.check(`new_${i}`, [DEFAULT_POLICY]);
    expect(limiter.store.size).toBeLessThanOrEqual(1000);
  });

  test("a sweep forgets only what has ended: one set off by a longer window keeps the shorter windows' counts", () => {
    // The sweep once took the end of the incrementing policy's next window for "now": set off
    // by a per-day policy, it dropped every per-second count of the current second.
    const clock = new FakeClock("2026-01-01T00:00:00.000Z");
    const limiter = new RateLimiter(new InMemoryCounterStore({ sweepEvery: 10 }), clock.now);
    const perSecond: RateLimitPolicy = {
      name: "s",
      limit: 5,
      windowSeconds: 1,
      algorithm: "fixed",
    };
    const perDay: RateLimitPolicy = {
      name: "d",
      limit: 1000,
      windowSeconds: 86_400,
      algorithm: "fixed",
    };
    for (let i = 0; i < 5; i++) expect(limiter.check("key_a", [perSecond]).allowed).toBe(true);
    for (let i = 0; i < 10; i++) limiter.check("key_b", [perDay]);
    expect(limiter.check("key_a", [perSecond]).allowed).toBe(false);
    // And a sliding window's counts outlive a sweep until their second has left the window.
    const sliding = perMinute(10, "sliding", "m");
    for (let i = 0; i < 10; i++) limiter.check("key_c", [sliding]);
    clock.advance(60);
    for (let i = 0; i < 10; i++) limiter.check("key_b", [perDay]);
    expect(limiter.check("key_c", [sliding]).allowed).toBe(false);
  });
});

describe("route policies", () => {
  test("match method and path pattern", () => {
    const routes = new RoutePolicies([
      { ...perMinute(60, "fixed", "create"), method: "POST", path: "/ecom/v1/checkout" },
      { ...perMinute(120, "fixed", "read"), method: "GET", path: "/ecom/v1/checkout/:id" },
      { ...perMinute(5, "fixed", "all"), method: "GET", path: "/admin/*" },
    ]);
    const names = (method: string, path: string) =>
      routes.matching(method, path, "").map((p) => p.name);
    expect(names("POST", "/ecom/v1/checkout")).toEqual(["create"]);
    expect(names("GET", "/ecom/v1/checkout")).toEqual([]);
    expect(names("GET", "/ecom/v1/checkout/lnk_1")).toEqual(["read"]);
    expect(names("HEAD", "/ecom/v1/checkout/lnk_1")).toEqual(["read"]);
    expect(names("GET", "/ecom/v1/checkout/lnk_1/x")).toEqual([]);
    expect(names("GET", "/admin/a/b")).toEqual(["all"]);
  });

  test("a gateway route's own policy counts the requests that route serves, not every path its pattern covers", () => {
    const routes = new RoutePolicies([
      {
        ...perMinute(5, "fixed", "one account"),
        method: "GET",
        path: "/accounts/:id",
        routeOwned: true,
      },
      { ...perMinute(100, "fixed", "accounts"), method: "GET", path: "/accounts/*" },
    ]);
    const names = (path: string, route: string) =>
      routes.matching("GET", path, route).map((p) => p.name);
    expect(names("/accounts/acc_1", "/accounts/:id")).toEqual(["one account", "accounts"]);
    // Served by a route of its own (GET /accounts/export): only the path-wide policy.
    expect(names("/accounts/export", "/accounts/export")).toEqual(["accounts"]);
  });
});

describe("the hot path", () => {
  test("checking against a frozen policy list keeps its optimised code (JSC does not recompile it again and again)", () => {
    // A for…of over a frozen list made JSC discard check()'s optimised code on every call: by
    // 100,000 calls it had been compiled eight times. Once (or twice) is healthy. A fresh
    // process, so that other tests' calls do not count.
    const limiter = join(import.meta.dir, "../../src/ratelimit");
    const script = `
      import { numberOfDFGCompiles } from "bun:jsc";
      import { InMemoryCounterStore } from "${limiter}/counter-store.ts";
      import { DEFAULT_POLICY } from "${limiter}/policy.ts";
      import { RateLimiter } from "${limiter}/rate-limiter.ts";
      const limiter = new RateLimiter(new InMemoryCounterStore(), () => new Date());
      const policies = Object.freeze([{ ...DEFAULT_POLICY, limit: 1e9 }]);
      for (let i = 0; i < 100_000; i++) limiter.check("key_hot", policies);
      console.log(numberOfDFGCompiles(RateLimiter.prototype.check));`;
    const run = Bun.spawnSync([process.execPath, "-e", script]);
    expect(run.exitCode).toBe(0);
    expect(Number(run.stdout.toString().trim())).toBeLessThanOrEqual(2);
  });
});

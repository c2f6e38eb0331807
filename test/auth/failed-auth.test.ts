import { describe, expect, test } from "bun:test";
import { FailedAuthLimiter } from "../../src/auth/failed-auth-limiter.ts";
import { createUser } from "../../src/commands/users.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { FakeClock, TEST_ACTOR, TEST_SCRYPT_COST } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

describe("failed-authentication limiter", () => {
  test("after 30 failures in a minute the address gets 429 with Retry-After — valid keys too — until the window ends", async () => {
    const clock = new FakeClock("2026-01-01T00:00:00.000Z");
    const t = openTestApp({ clock });
    for (let i = 0; i < 30; i++) {
      expect((await t.call("GET", "/v1/me", { key: generateKey("sk", "live") })).status).toBe(401);
    }
    const blocked = await t.call("GET", "/v1/me", { key: t.live });
    expect([blocked.status, codeOf(blocked), blocked.body.error.type]).toEqual([
      429,
      "rate_limited",
      "rate_limited",
    ]);
    expect(blocked.headers.get("retry-after")).toBe("60");
    clock.advance(45);
    expect((await t.call("GET", "/v1/me", { key: t.live })).headers.get("retry-after")).toBe("15");
    clock.advance(15);
    expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200);
  });

  test("failed logins count too: after 30 wrong passwords, even the right one gets 429", async () => {
    const t = openTestApp();
    createUser(
      t.kg,
      { email: "ops@example.com", password: "the right password", entityId: t.platform },
      TEST_ACTOR,
      TEST_SCRYPT_COST,
    );
    for (let i = 0; i < 30; i++) {
      const wrong = await t.call("POST", "/v1/auth/login", {
        body: { email: "ops@example.com", password: `wrong password ${i}` },
      });
      expect(codeOf(wrong)).toBe("invalid_credentials");
    }
    const right = await t.call("POST", "/v1/auth/login", {
      body: { email: "ops@example.com", password: "the right password" },
    });
    expect([right.status, codeOf(right)]).toEqual([429, "rate_limited"]);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("successes and permission errors do not count; addresses are counted apart", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxFailures: 2, windowSeconds: 10, now: clock.now });
    limiter.fail("10.0.0.1");
    limiter.fail("10.0.0.1");
    expect(limiter.retryAfter("10.0.0.1")).toBe(10);
    expect(limiter.retryAfter("10.0.0.2")).toBe(0);
  });

  test("memory stays bounded: finished windows are swept", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ now: clock.now });
    for (let i = 0; i < 5_000; i++) limiter.fail(`addr-${i}`);
    expect(limiter.size).toBe(5_000);
    clock.advance(60);
    limiter.sweep();
    expect(limiter.size).toBe(0);
  });
});

import { describe, expect, test } from "bun:test";
import {
  clientOf,
  FAILED_SIGN_IN_LIMIT,
  FailedAuthLimiter,
  MAX_TRACKED_CLIENTS,
} from "../../src/auth/failed-auth-limiter.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { passwordWork } from "../../src/users/password.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { FakeClock, givenUser } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

/** A test app with the user ops@example.com ("the right password"), and a login call. */
async function withUser() {
  const t = openTestApp();
  await givenUser(t.kg, {
    email: "ops@example.com",
    password: "the right password",
    entityId: t.platform,
  });
  const login = (email: string, password: string) =>
    t.call("POST", "/v1/auth/login", { body: { email, password } });
  return { t, login };
}

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

  test("failed logins count too: after 30 wrong passwords from one address, even the right one gets 429", async () => {
    const { login } = await withUser();
    for (let i = 0; i < 30; i++) {
      // Spread over emails, so the per-email limit (10) is not what stops them.
      const email = i < 5 ? "ops@example.com" : `guess${i}@example.com`;
      expect(codeOf(await login(email, `wrong password ${i}`))).toBe("invalid_credentials");
    }
    const right = await login("ops@example.com", "the right password");
    expect([right.status, codeOf(right)]).toEqual([429, "rate_limited"]);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("while passwords are being checked at the gate's limit, a sign-in is 429 at once and is not counted as a failure", async () => {
    const { login } = await withUser();
    // Every turn of the process's password work taken, and every place in its queue.
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const held = Array.from({ length: passwordWork.concurrency + passwordWork.queue }, () =>
      passwordWork.run(() => opened),
    );
    try {
      const refused = await login("ops@example.com", "the right password");
      expect([refused.status, codeOf(refused)]).toEqual([429, "rate_limited"]);
      expect(refused.headers.get("retry-after")).toBe("1");
    } finally {
      open();
      await Promise.all(held);
    }
    // Not a failure of this email or address: the right password works at once.
    expect((await login("ops@example.com", "the right password")).status).toBe(200);
  });

  test("the hash unknown emails are checked against is made again after a full gate refused it, not refused for ever", async () => {
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const hold = () =>
      Array.from({ length: passwordWork.concurrency + passwordWork.queue }, () =>
        passwordWork.run(() => opened),
      );
    // The gate is full while the app is built: making its hash for unknown emails is refused.
    const held = hold();
    const t = openTestApp();
    const login = (email: string, password: string) =>
      t.call("POST", "/v1/auth/login", { body: { email, password } });
    try {
      const refused = await login("nobody@example.com", "a password");
      expect([refused.status, codeOf(refused)]).toEqual([429, "rate_limited"]);
    } finally {
      open();
      await Promise.all(held);
    }
    const unknown = await login("nobody@example.com", "a password");
    expect([unknown.status, codeOf(unknown)]).toEqual([401, "invalid_credentials"]);
  });

  test("failed sign-ins count per email too: the 11th for one email is 429, the right password included, known email or not", async () => {
    const { t, login } = await withUser();
    for (const email of ["ops@example.com", "nobody@example.com"]) {
      for (let i = 0; i < 10; i++)
        expect(codeOf(await login(email, `wrong password ${i}`))).toBe("invalid_credentials");
    }
    // 20 failures from this address (under its 30), but 10 on each email: both are refused
    // alike (a 429 does not tell which emails exist), for 15 minutes, in any letter case.
    for (const email of ["OPS@example.com", "nobody@example.com"]) {
      const refused = await login(email, "the right password");
      expect([refused.status, codeOf(refused)]).toEqual([429, "rate_limited"]);
      expect(refused.body.error.message).toContain("this email");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(60);
    }
    expect(codeOf(await login("other@example.com", "x"))).toBe("invalid_credentials");
    t.clock.advance(15 * 60);
    expect((await login("ops@example.com", "the right password")).status).toBe(200);
  });

  test("sign-ins sent all at once are counted before their passwords are checked: no more than the limit are ever judged", async () => {
    const { login } = await withUser();
    // Each used to pass the limit's check before any had failed: 30 at once were all judged.
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login("ops@example.com", `wrong password ${i}`)),
    );
    const codes = replies.map(codeOf);
    expect(codes.filter((code) => code === "invalid_credentials")).toHaveLength(10);
    expect(codes.filter((code) => code === "rate_limited")).toHaveLength(20);
  });

  test("a sign-in counted in advance is taken back when the password is right", async () => {
    const { login } = await withUser();
    for (let i = 0; i < 9; i++) await login("ops@example.com", `wrong password ${i}`);
    const rights = await Promise.all(
      Array.from({ length: 3 }, () => login("ops@example.com", "the right password")),
    );
    // The tenth place is held while the first is checked (the others are refused meanwhile),
    // then given back.
    expect(rights.map((r) => r.status).sort()).toEqual([200, 429, 429]);
    expect((await login("ops@example.com", "the right password")).status).toBe(200);
    expect(codeOf(await login("ops@example.com", "wrong password 9"))).toBe("invalid_credentials");
    expect(codeOf(await login("ops@example.com", "the right password"))).toBe("rate_limited");
  });

  test("a count taken back after its window ended leaves the new window's counts alone", () => {
    const clock = new FakeClock("2026-01-01T00:00:59.900Z");
    const limiter = new FailedAuthLimiter({ maxFailures: 1, windowSeconds: 60, now: clock.now });
    const takeBack = limiter.countInAdvance("203.0.113.7");
    clock.advance(1);
    limiter.fail("203.0.113.7");
    takeBack();
    expect(limiter.retryAfter("203.0.113.7")).toBeGreaterThan(0);
  });

  test("the per-email limiter counts an email as given, across any number of addresses", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ ...FAILED_SIGN_IN_LIMIT, now: clock.now });
    for (let i = 0; i < 9; i++) limiter.fail("ops@example.com");
    expect(limiter.retryAfter("ops@example.com")).toBe(0);
    limiter.fail("ops@example.com");
    expect(limiter.retryAfter("ops@example.com")).toBeGreaterThan(0);
    expect(limiter.retryAfter("dev@example.com")).toBe(0);
  });

  test("successes and permission errors do not count; addresses are counted apart", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxFailures: 2, windowSeconds: 10, now: clock.now });
    limiter.fail("10.0.0.1");
    limiter.fail("10.0.0.1");
    expect(limiter.retryAfter("10.0.0.1")).toBe(10);
    expect(limiter.retryAfter("10.0.0.2")).toBe(0);
  });

  test("a wall clock stepped back does not drop the counts: the client stays blocked until the window's length has passed", () => {
    const clock = new FakeClock("2026-01-01T00:00:05.000Z");
    const limiter = new FailedAuthLimiter({ maxFailures: 2, windowSeconds: 10, now: clock.now });
    limiter.fail("10.0.0.1");
    limiter.fail("10.0.0.1");
    clock.advance(-10); // the window before, by the wall clock
    expect(limiter.retryAfter("10.0.0.1")).toBe(5);
    clock.advance(4);
    expect(limiter.retryAfter("10.0.0.1")).toBe(1);
    clock.advance(1);
    expect(limiter.retryAfter("10.0.0.1")).toBe(0);
  });

  test("a finished window's counts are dropped at the next call", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ now: clock.now });
    for (let i = 0; i < 5_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(5_000);
    clock.advance(60);
    expect(limiter.retryAfter("10.0.0.0")).toBe(0);
    expect(limiter.size).toBe(0);
  });

  test("memory stays bounded within one window, however many addresses fail", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxFailures: 2, now: clock.now });
    limiter.fail("192.0.2.1");
    limiter.fail("192.0.2.1");
    const network = (i: number) =>
      `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    for (let i = 0; i < MAX_TRACKED_CLIENTS + 50_000; i++) limiter.fail(`${network(i)}::1`);
    expect(limiter.size).toBe(MAX_TRACKED_CLIENTS);
    // The clients whose last failure is oldest were forgotten first; the newest are still counted.
    expect(limiter.retryAfter("192.0.2.1")).toBe(0);
    const newest = `${network(MAX_TRACKED_CLIENTS + 49_999)}::2`;
    limiter.fail(newest);
    expect(limiter.retryAfter(newest)).toBeGreaterThan(0);
  });

  test("a client that keeps failing stays counted while a flood of others is forgotten", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxFailures: 3, now: clock.now });
    const network = (i: number) =>
      `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
    for (let i = 0; i < MAX_TRACKED_CLIENTS * 2; i++) {
      // One failure from the guesser for every 40,000 of the flood: its count is kept.
      if (i % 40_000 === 0) limiter.fail("192.0.2.1");
      limiter.fail(`${network(i)}::1`);
    }
    expect(limiter.size).toBe(MAX_TRACKED_CLIENTS);
    expect(limiter.retryAfter("192.0.2.1")).toBeGreaterThan(0);
  });

  test("an IPv6 client is its /64: its other addresses share its count; another /64 does not", () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxFailures: 3, now: clock.now });
    limiter.fail("2001:db8:aa:1::1");
    limiter.fail("2001:0db8:00aa:0001:ffff:1:2:3");
    limiter.fail("2001:DB8:AA:1:0:0:0:9%eth0");
    expect(limiter.retryAfter("2001:db8:aa:1::dead:beef")).toBeGreaterThan(0);
    expect(limiter.retryAfter("2001:db8:aa:2::1")).toBe(0);
    expect(limiter.retryAfter("10.0.0.1")).toBe(0);
  });

  test("clientOf: IPv4 as itself (mapped too), IPv6 as its /64, anything else as given", () => {
    expect(clientOf("203.0.113.7")).toBe("203.0.113.7");
    expect(clientOf("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientOf("::1")).toBe("0:0:0:0::/64");
    expect(clientOf("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientOf("64:ff9b::198.51.100.1")).toBe("64:ff9b:0:0::/64");
    expect(clientOf("2001:db8:1:2:3:4:5:6:7")).toBe("2001:db8:1:2:3:4:5:6:7");
    expect(clientOf("1::2::3")).toBe("1::2::3");
    expect(clientOf("unknown")).toBe("unknown");
  });
});

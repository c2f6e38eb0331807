/** Responses carrying a secret or a token are marked `Cache-Control: no-store`, replays too. */
import { describe, expect, test } from "bun:test";
import { testAppPerTest } from "../support/http.ts";
import { givenUser } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

describe("Cache-Control: no-store on secrets and tokens", () => {
  test("a new key, a rotated key and a login token may not be cached; a retried creation stays so", async () => {
    const { call, live } = openTestApp();
    const create = () =>
      call("POST", "/v1/api-keys", {
        key: live,
        headers: { "idempotency-key": "create-key-0001" },
        body: { name: "billing", scopes: ["links:read"] },
      });
    const created = await create();
    expect([created.status, created.headers.get("cache-control")]).toEqual([200, "no-store"]);
    const replayed = await create();
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.body.secret).toBe(created.body.secret);
    expect(replayed.headers.get("cache-control")).toBe("no-store");

    const rotated = await call("POST", `/v1/api-keys/${created.body.id}/rotate`, {
      key: live,
      body: {},
    });
    expect([rotated.status, rotated.headers.get("cache-control")]).toEqual([200, "no-store"]);
    expect(rotated.body.secret).toMatch(/^sk_live_/);
  });

  test("a refused rotation carries no such header: it holds no secret", async () => {
    const { call, clock, live } = openTestApp();
    const created = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "short-lived", scopes: ["links:read"], expires_at: "2026-01-01T00:10:00Z" },
    });
    clock.advance(3600);
    const refused = await call("POST", `/v1/api-keys/${created.body.id}/rotate`, {
      key: live,
      body: {},
    });
    expect(refused.body.error.message).toBe(
      "An expired API key cannot be rotated; create a new one.",
    );
    expect([refused.status, refused.headers.get("cache-control")]).toEqual([400, null]);
  });

  test("a login token may not be cached; a refused login and reads of key metadata carry no such header", async () => {
    const { call, kg, live, platform } = openTestApp();
    await givenUser(kg, {
      email: "ops@example.com",
      password: "correct horse battery",
      entityId: platform,
    });
    const login = await call("POST", "/v1/auth/login", {
      body: { email: "ops@example.com", password: "correct horse battery" },
    });
    expect([login.status, login.headers.get("cache-control")]).toEqual([200, "no-store"]);
    const refused = await call("POST", "/v1/auth/login", {
      body: { email: "ops@example.com", password: "wrong horse" },
    });
    expect([refused.status, refused.headers.get("cache-control")]).toEqual([401, null]);
    const me = await call("GET", "/v1/me", { key: live });
    expect([me.status, me.headers.get("cache-control")]).toEqual([200, null]);
  });
});

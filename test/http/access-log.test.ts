import { describe, expect, test } from "bun:test";
import { tampered, testAppPerTest } from "../support/http.ts";
import { givenUser } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

describe("access log", () => {
  test("one entry per request with request id, key prefix (never more), status and latency", async () => {
    const t = openTestApp();
    const created = await t.call("POST", "/v1/api-keys", {
      key: t.live,
      body: { name: "k", scopes: ["links:read"] },
    });
    await t.call("GET", "/v1/me", { key: created.body.secret });
    await t.call("GET", "/v1/me", { key: tampered(created.body.secret) });
    // Entries are written after each response has gone out: wait for them, in any order.
    for (let waited = 0; t.accessLog.length < 3 && waited < 2000; waited += 10) await Bun.sleep(10);
    expect(t.accessLog).toHaveLength(3);
    const create = t.accessLog.find((e) => e.method === "POST");
    const me = t.accessLog.find((e) => e.path === "/v1/me" && e.status === 200);
    const refused = t.accessLog.find((e) => e.status === 401);
    expect(create).toMatchObject({
      path: "/v1/api-keys",
      status: 200,
      key_prefix: t.live.slice(0, 16),
    });
    expect(me).toMatchObject({
      key_id: created.body.id,
      key_prefix: created.body.secret.slice(0, 16),
    });
    expect(me?.request_id).toMatch(/^req_/);
    // Measured from the request's arrival, in milliseconds to the microsecond: a key creation
    // (an append, a commit) takes more than a microsecond.
    expect(create?.latency_ms).toBeGreaterThan(0);
    expect(typeof me?.latency_ms).toBe("number");
    expect(refused).toMatchObject({ path: "/v1/me", key_id: null, key_prefix: null });
    const text = JSON.stringify(t.accessLog);
    for (const secret of [t.live, created.body.secret])
      expect(text).not.toContain(secret.slice(16));
  });

  test("a key or a management token put in the path by mistake is logged masked, never whole, and answered so", async () => {
    const t = openTestApp();
    const reply = await t.call("GET", `/v1/api-keys/${t.live}`, { key: t.live });
    expect(reply.status).toBe(404);
    for (let waited = 0; t.accessLog.length < 1 && waited < 2000; waited += 10) await Bun.sleep(10);
    expect(t.accessLog[0]?.path).toBe(`/v1/api-keys/${t.live.slice(0, 8)}••••${t.live.slice(-4)}`);
    expect(JSON.stringify(t.accessLog)).not.toContain(t.live.slice(8, 28));

    await givenUser(t.kg, {
      email: "u@example.com",
      password: "a user password",
      entityId: t.platform,
    });
    const { token } = (
      await t.call("POST", "/v1/auth/login", {
        body: { email: "u@example.com", password: "a user password" },
      })
    ).body as { token: string };
    const [header, claims, signature] = token.split(".") as [string, string, string];
    const pasted = await t.call("GET", `/v1/api-keys/${token}`, { key: token });
    expect(pasted.status).toBe(404);
    expect(pasted.body.error.message).toBe(`No such API key: ${header}.••••.`);
    for (let waited = 0; t.accessLog.length < 3 && waited < 2000; waited += 10) await Bun.sleep(10);
    expect(t.accessLog.map((e) => e.path)).toContain(`/v1/api-keys/${header}.••••`);
    for (const part of [claims, signature]) {
      expect(JSON.stringify(t.accessLog)).not.toContain(part);
      expect(pasted.text).not.toContain(part);
    }
  });

  test("each entry's time is its own, and a dashboard user is logged as the actor, with no key", async () => {
    const t = openTestApp();
    await givenUser(t.kg, {
      email: "u@example.com",
      password: "a user password",
      entityId: t.platform,
    });
    const login = await t.call("POST", "/v1/auth/login", {
      body: { email: "u@example.com", password: "a user password" },
    });
    const before = Date.now();
    await Bun.sleep(5);
    await t.call("GET", "/v1/api-keys", { key: login.body.token });
    for (let waited = 0; t.accessLog.length < 2 && waited < 2000; waited += 10) await Bun.sleep(10);
    const listing = t.accessLog.find((e) => e.path === "/v1/api-keys");
    expect(listing).toMatchObject({ status: 200, key_id: null, key_prefix: null });
    expect(listing?.actor).toMatch(/^usr_/);
    expect(Date.parse(listing?.time ?? "")).toBeGreaterThan(before);
    expect(listing?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const loginEntry = t.accessLog.find((e) => e.path === "/v1/auth/login");
    // An entry's time is when its answer was ready, which Elysia may report a moment after the
    // caller has it: the sign-in's is compared with the later request's, 5 ms on, not `before`.
    expect(Date.parse(loginEntry?.time ?? "")).toBeLessThan(Date.parse(listing?.time ?? ""));
  });
});

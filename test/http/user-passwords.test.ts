import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { deactivateUser } from "../../src/commands/users.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser, partnerAndOutsider, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

/** A partner holding a user, a `*` key and a `users:write` key; and a merchant beside it. */
async function setup() {
  const t = openTestApp();
  const { partner, other } = partnerAndOutsider(t.kg, t.platform);
  const keyAt = (scopes: string[]) =>
    createApiKey(t.kg, { entityId: partner.id, environment: "live", name: "k", scopes }, TEST_ACTOR)
      .secret;
  const user = await givenUser(t.kg, {
    email: "ops@b.co",
    password: "first password",
    entityId: partner.id,
  });
  const login = (password: string) =>
    t.call("POST", "/v1/auth/login", { body: { email: "ops@b.co", password } });
  /** Whether a management token is still accepted. */
  const accepted = async (token: string) =>
    (await t.call("GET", "/v1/api-keys", { key: token })).status === 200;
  return {
    ...t,
    partner,
    other,
    user,
    login,
    accepted,
    admin: keyAt(["*"]),
    writer: keyAt(["users:write"]),
  };
}

describe("POST /v1/users/{id}/password (an administrator's reset)", () => {
  test("sets the password: the old one stops, the new one logs in, tokens issued before are refused", async () => {
    const { call, kg, user, login, accepted, admin, clock } = await setup();
    const before = (await login("first password")).body.token;
    expect(await accepted(before)).toBe(true);
    clock.advance(5);

    const reset = await call("POST", `/v1/users/${user.id}/password`, {
      key: admin,
      body: { password: "second password" },
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ ...user, password_changed_at: kg.now().toISOString() });
    expect(JSON.stringify(reset.body)).not.toContain("second password");

    const refused = await call("GET", "/v1/api-keys", { key: before });
    expect([refused.status, codeOf(refused)]).toEqual([401, "invalid_token"]);
    expect(refused.body.error.message).toContain("password");
    expect(codeOf(await login("first password"))).toBe("invalid_credentials");
    const after = (await login("second password")).body.token;
    expect(await accepted(after)).toBe(true);

    // The event carries only the new hash, and the API redacts even that.
    const events = await call("GET", "/v1/events?limit=100", { key: admin });
    const changed = events.body.data.find(
      (e: { type: string }) => e.type === "user.password_changed",
    );
    expect(changed.data).toEqual({ user_id: user.id, password_hash: "[redacted]" });
    expect(changed.metadata.actor).toMatch(/^key_/);
  });

  test("needs users:write and `*` (a reset can act as the user); only users in the subtree; a password of 10–1024 characters, none a control character", async () => {
    const { call, kg, user, other, admin, writer, live } = await setup();
    const head = kg.store.headPosition();
    const reset = (key: string, id: string, body: object = { password: "a new password" }) =>
      call("POST", `/v1/users/${id}/password`, { key, body });

    const notAll = await reset(writer, user.id);
    expect([notAll.status, codeOf(notAll)]).toEqual([403, "insufficient_scope"]);
    const outsider = await givenUser(kg, {
      email: "x@o.co",
      password: "outsider password",
      entityId: other.id,
    });
    for (const id of [outsider.id, "usr_missing"]) {
      const missing = await reset(admin, id);
      expect([missing.status, codeOf(missing)]).toEqual([404, "resource_missing"]);
    }
    const short = await reset(admin, user.id, { password: "short" });
    expect([short.status, codeOf(short)]).toEqual([400, "invalid_request"]);
    expect(short.body.error.message).toContain("password must be 10–1024 characters");
    // No sign-in form sends a line break or a tab: such a password could never be typed.
    for (const [password, code] of [
      ["first line\nsecond line", "U+000A"],
      ["tab\tseparated words", "U+0009"],
      ["a nul \u0000 in the middle", "U+0000"],
    ]) {
      const control = await reset(admin, user.id, { password });
      expect([control.status, codeOf(control), control.body.error.param]).toEqual([
        400,
        "invalid_request",
        "password",
      ]);
      expect(control.body.error.message).toContain(`password holds the control character ${code}`);
    }
    const extra = await reset(admin, user.id, { password: "a new password", email: "y@b.co" });
    expect([extra.status, codeOf(extra)]).toEqual([400, "invalid_request"]);
    const missingField = await reset(admin, user.id, {});
    expect([missingField.status, codeOf(missingField)]).toEqual([400, "invalid_request"]);
    expect(kg.store.headPosition()).toBe(head + 1); // only the outsider's creation

    // A deactivated user's password can be reset, ready for its reactivation.
    deactivateUser(kg, user.id, TEST_ACTOR);
    expect((await reset(live, user.id)).body.active).toBe(false);
  });
});

describe("POST /v1/auth/password (the user's own change)", () => {
  test("with the current password: changes it, and the user's earlier tokens are refused", async () => {
    const { call, user, login, accepted, live } = await setup();
    const before = (await login("first password")).body.token;
    const change = await call("POST", "/v1/auth/password", {
      body: { email: "OPS@b.co", password: "first password", new_password: "second password" },
    });
    expect(change.status).toBe(200);
    expect(change.body.id).toBe(user.id);
    expect(change.body.password_changed_at).not.toBeNull();
    expect(await accepted(before)).toBe(false);
    expect(codeOf(await login("first password"))).toBe("invalid_credentials");
    expect((await login("second password")).status).toBe(200);
    const events = await call("GET", "/v1/events?limit=100", { key: live });
    const changed = events.body.data.find(
      (e: { type: string }) => e.type === "user.password_changed",
    );
    expect(changed.metadata).toEqual({
      actor: user.id,
      request_id: change.headers.get("x-request-id"),
    });
  });

  test("a wrong current password, an unknown email, a deactivated user, the same or a short new password: refused, nothing appended", async () => {
    const { call, kg, user } = await setup();
    const head = kg.store.headPosition();
    const change = (body: object) => call("POST", "/v1/auth/password", { body });
    const wrong = await change({
      email: "ops@b.co",
      password: "not the password",
      new_password: "second password",
    });
    expect([wrong.status, codeOf(wrong)]).toEqual([401, "invalid_credentials"]);
    const unknown = await change({
      email: "nobody@b.co",
      password: "first password",
      new_password: "second password",
    });
    expect([unknown.status, codeOf(unknown)]).toEqual([401, "invalid_credentials"]);
    const same = await change({
      email: "ops@b.co",
      password: "first password",
      new_password: "first password",
    });
    expect([same.status, codeOf(same)]).toEqual([400, "invalid_request"]);
    expect(same.body.error.message).toContain("new_password");
    const short = await change({
      email: "ops@b.co",
      password: "first password",
      new_password: "x",
    });
    expect([short.status, codeOf(short)]).toEqual([400, "invalid_request"]);
    expect(short.body.error.message).toContain("new_password must be 10–1024 characters");
    const noNew = await change({ email: "ops@b.co", password: "first password" });
    expect([noNew.status, codeOf(noNew)]).toEqual([400, "invalid_request"]);

    deactivateUser(kg, user.id, TEST_ACTOR);
    const off = await change({
      email: "ops@b.co",
      password: "first password",
      new_password: "second password",
    });
    expect([off.status, codeOf(off), off.body.error.message]).toEqual([
      401,
      "invalid_credentials",
      "This user is deactivated.",
    ]);
    expect(kg.store.headPosition()).toBe(head + 1); // only the deactivation
  });

  test("wrong current passwords count like failed logins: the 11th for one email is 429", async () => {
    const { call } = await setup();
    const attempt = () =>
      call("POST", "/v1/auth/password", {
        body: { email: "ops@b.co", password: "guess password", new_password: "second password" },
      });
    for (let i = 0; i < 10; i++) expect(codeOf(await attempt())).toBe("invalid_credentials");
    const blocked = await attempt();
    expect(blocked.status).toBe(429);
  });
});

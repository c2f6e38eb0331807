import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser, partnerAndOutsider, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

/** A partner holding two users and a `users:write` key; and a merchant beside it. */
async function setup() {
  const t = openTestApp();
  const { partner, other } = partnerAndOutsider(t.kg, t.platform);
  const keyAt = (entityId: string, scopes: string[]) =>
    createApiKey(t.kg, { entityId, environment: "live", name: "k", scopes }, TEST_ACTOR).secret;
  const userAt = (entityId: string, email: string) =>
    givenUser(t.kg, { email, password: "first password", entityId });
  const login = (email: string) =>
    t.call("POST", "/v1/auth/login", { body: { email, password: "first password" } });
  return {
    ...t,
    user: await userAt(partner.id, "ops@b.co"),
    colleague: await userAt(partner.id, "finance@b.co"),
    outsider: await userAt(other.id, "ops@other.co"),
    login,
    writer: keyAt(partner.id, ["users:write"]),
    reader: keyAt(partner.id, ["users:read"]),
  };
}

describe("PATCH /v1/users/{id} (an administrator changes a user's email)", () => {
  test("the new email logs in, the old one no longer does, and tokens issued before keep working", async () => {
    const { call, kg, user, login, writer } = await setup();
    const token = (await login("ops@b.co")).body.token as string;

    const changed = await call("PATCH", `/v1/users/${user.id}`, {
      key: writer,
      body: { email: "  Ops.Lead@B.co " },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ ...user, email: "ops.lead@b.co" });

    expect(codeOf(await login("ops@b.co"))).toBe("invalid_credentials");
    expect((await login("OPS.LEAD@b.co")).status).toBe(200);
    // A token names its user by id, not by email.
    expect((await call("GET", "/v1/api-keys", { key: token })).status).toBe(200);

    const event = kg.store.readStream(user.id).at(-1);
    expect(event).toMatchObject({
      type: "user.email_changed",
      streamId: user.id,
      data: { user_id: user.id, email: "ops.lead@b.co" },
    });
    expect(event?.metadata.actor).toMatch(/^key_/);
  });

  test("the same email, or an empty body, changes nothing and appends nothing", async () => {
    const { call, kg, user, writer } = await setup();
    const head = kg.store.headPosition();
    for (const body of [{ email: "OPS@b.co" }, {}]) {
      const same = await call("PATCH", `/v1/users/${user.id}`, { key: writer, body });
      expect([same.status, same.body]).toEqual([200, user]);
    }
    expect(kg.store.headPosition()).toBe(head);
  });

  test("refusals append nothing: a taken or bad email, an unknown field, a user outside the subtree, a key without users:write", async () => {
    const { call, kg, user, colleague, outsider, writer, reader } = await setup();
    const head = kg.store.headPosition();
    const patch = (id: string, body: unknown, key = writer) =>
      call("PATCH", `/v1/users/${id}`, { key, body });

    const taken = await patch(user.id, { email: "Finance@b.co" });
    expect([taken.status, codeOf(taken), taken.body.error.param]).toEqual([
      409,
      "resource_conflict",
      "email",
    ]);
    const bad = await patch(user.id, { email: "not an email" });
    expect([bad.status, codeOf(bad), bad.body.error.param]).toEqual([
      400,
      "invalid_request",
      "email",
    ]);
    const unknown = await patch(user.id, { email: "x@b.co", active: false });
    expect([unknown.status, codeOf(unknown)]).toEqual([400, "invalid_request"]);
    const wrongType = await patch(user.id, { email: 42 });
    expect([wrongType.status, codeOf(wrongType)]).toEqual([400, "invalid_request"]);
    const outside = await patch(outsider.id, { email: "x@b.co" });
    expect([outside.status, codeOf(outside)]).toEqual([404, "resource_missing"]);
    const readOnly = await patch(colleague.id, { email: "x@b.co" }, reader);
    expect([readOnly.status, codeOf(readOnly)]).toEqual([403, "insufficient_scope"]);
    const missing = await patch("usr_missing", { email: "x@b.co" });
    expect([missing.status, codeOf(missing)]).toEqual([404, "resource_missing"]);

    expect(kg.store.headPosition()).toBe(head);
  });

  test("a changed email frees the old one for another user", async () => {
    const { call, kg, user, writer } = await setup();
    await call("PATCH", `/v1/users/${user.id}`, { key: writer, body: { email: "ops2@b.co" } });
    const reused = await givenUser(kg, {
      email: "ops@b.co",
      password: "first password",
      entityId: user.entity_id,
    });
    expect(reused.email).toBe("ops@b.co");
  });
});

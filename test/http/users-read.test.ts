import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { deactivateUser } from "../../src/commands/users.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

/** partner → merchant, and another merchant; a user at each; a partner key per scope set. */
async function setup() {
  const t = openTestApp();
  const entity = (kind: "partner" | "merchant", parentId: string) =>
    createEntity(t.kg, { kind, name: kind, parentId }, TEST_ACTOR);
  const partner = entity("partner", t.platform);
  const merchant = entity("merchant", partner.id);
  const other = entity("merchant", t.platform);
  const user = (email: string, entityId: string) =>
    givenUser(t.kg, { email, password: "a long password", entityId });
  const users = {
    partner: await user("partner@p.co", partner.id),
    merchant: await user("merchant@p.co", merchant.id),
    other: await user("other@o.co", other.id),
  };
  const partnerKey = (scopes: string[], environment: "live" | "test" = "live") =>
    createApiKey(t.kg, { entityId: partner.id, environment, name: "k", scopes }, TEST_ACTOR).secret;
  return { ...t, partner, merchant, other, users, partnerKey };
}

describe("GET /v1/users", () => {
  test("lists the users of the caller's subtree by id, in pages, filtered by entity or email", async () => {
    const { call, partnerKey, users, merchant, other, live } = await setup();
    const reader = partnerKey(["users:read"]);
    const list = (query = "", key = reader) => call("GET", `/v1/users${query}`, { key });

    // Ids are time-ordered, but two made in one millisecond fall in random order.
    const byId = [users.partner, users.merchant].sort((a, b) => (a.id < b.id ? -1 : 1));
    const all = await list();
    expect(all.body).toEqual({ object: "list", data: byId, has_more: false });
    expect(JSON.stringify(all.body)).not.toContain("scrypt");
    const first = await list("?limit=1");
    expect([first.body.data, first.body.has_more]).toEqual([[byId[0]], true]);
    const second = await list(`?limit=1&starting_after=${byId[0]?.id}`);
    expect([second.body.data, second.body.has_more]).toEqual([[byId[1]], false]);
    expect((await list(`?entity_id=${merchant.id}`)).body.data).toEqual([users.merchant]);
    expect((await list("?email=MERCHANT@p.co")).body.data).toEqual([users.merchant]);
    expect((await list("?email=other@o.co")).body.data).toEqual([]);
    // The platform sees every user; a test key sees the same users (users have no environment).
    expect((await list("", live)).body.data).toHaveLength(3);
    expect((await list("", partnerKey(["users:read"], "test"))).body.data).toHaveLength(2);

    const outside = await list(`?entity_id=${other.id}`);
    expect([outside.status, codeOf(outside)]).toEqual([403, "entity_forbidden"]);
    for (const query of ["?limit=0", "?limit=101", "?starting_after=key_x", "?status=active"]) {
      const bad = await list(query);
      expect([query, bad.status, codeOf(bad)]).toEqual([query, 400, "invalid_request"]);
    }
    // A cursor the caller cannot see (unknown, or outside its subtree) is not paged from.
    for (const cursor of ["usr_zzz", users.other.id]) {
      const bad = await list(`?starting_after=${cursor}`);
      expect([bad.status, codeOf(bad), bad.body.error.param]).toEqual([
        404,
        "resource_missing",
        "starting_after",
      ]);
    }
  });

  test("needs users:read: users:write does not imply it; a user's token is not accepted", async () => {
    const { call, partnerKey } = await setup();
    const reply = await call("GET", "/v1/users", { key: partnerKey(["users:write"]) });
    expect([reply.status, codeOf(reply)]).toEqual([403, "insufficient_scope"]);
    expect(reply.body.error.message).toContain("users:read");
    const login = await call("POST", "/v1/auth/login", {
      body: { email: "partner@p.co", password: "a long password" },
    });
    const withToken = await call("GET", "/v1/users", { key: login.body.token });
    expect([withToken.status, codeOf(withToken)]).toEqual([401, "token_not_accepted"]);
  });
});

describe("GET /v1/users/{id}", () => {
  test("a user of the subtree, deactivated or not; outside it or unknown: resource_missing", async () => {
    const { call, kg, partnerKey, users } = await setup();
    const reader = partnerKey(["users:read"]);
    deactivateUser(kg, users.merchant.id, TEST_ACTOR);
    const got = await call("GET", `/v1/users/${users.merchant.id}`, { key: reader });
    expect(got.body).toEqual({ ...users.merchant, active: false });
    for (const id of [users.other.id, "usr_missing"]) {
      const missing = await call("GET", `/v1/users/${id}`, { key: reader });
      expect([missing.status, codeOf(missing)]).toEqual([404, "resource_missing"]);
    }
  });
});

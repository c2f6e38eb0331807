import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser, partnerAndOutsider, TEST_ACTOR } from "../support/keygate.ts";
import { basic } from "../support/preset.ts";

const openTestApp = testAppPerTest();
function setup() {
  const t = openTestApp();
  const { partner, other } = partnerAndOutsider(t.kg, t.platform);
  const merchant = createEntity(
    t.kg,
    { kind: "merchant", name: "M", parentId: partner.id },
    TEST_ACTOR,
  );
  const partnerKey = createApiKey(
    t.kg,
    {
      entityId: partner.id,
      environment: "live",
      name: "partner",
      scopes: ["api_keys:read", "api_keys:write", "links:read"],
    },
    TEST_ACTOR,
  );
  return { ...t, partner, merchant, other, partnerKey };
}

describe("numbers in a key's body", () => {
  test("are JSON numbers: a string of digits is 400 naming the field, and nothing changes", async () => {
    const { call, partnerKey, kg } = setup();
    const events = () => kg.db.sql.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM events").get();
    const before = events();
    for (const [method, path, body, param] of [
      [
        "POST",
        "/v1/api-keys",
        { name: "n", scopes: ["links:read"], rate_limit: { limit: "5", window_seconds: 1 } },
        "rate_limit.limit",
      ],
      [
        "PATCH",
        `/v1/api-keys/${partnerKey.id}`,
        { rate_limit: { limit: 5, window_seconds: "60" } },
        "rate_limit.window_seconds",
      ],
      [
        "POST",
        `/v1/api-keys/${partnerKey.id}/rotate`,
        { expire_previous_in: "30" },
        "expire_previous_in",
      ],
      [
        "POST",
        `/v1/api-keys/${partnerKey.id}/rotate`,
        { expire_previous_in: 1.5 },
        "expire_previous_in",
      ],
    ] as const) {
      const reply = await call(method, path, { key: partnerKey.secret, body });
      expect(reply.status, `${method} ${path}`).toBe(400);
      expect(reply.body.error).toMatchObject({
        code: "invalid_request",
        param,
        message: `${param}: Expected integer.`,
      });
    }
    expect(events()).toEqual(before);
  });

  test("expire_previous_in is bounded by its schema, 0 to 30 days, as the OpenAPI document publishes it", async () => {
    const { call, partnerKey } = setup();
    const rotate = (expire_previous_in: number) =>
      call("POST", `/v1/api-keys/${partnerKey.id}/rotate`, {
        key: partnerKey.secret,
        body: { expire_previous_in },
      });
    for (const [value, bound] of [
      [-1, "greater or equal to 0"],
      [2_592_001, "less or equal to 2592000"],
    ] as const)
      expect((await rotate(value)).body.error).toMatchObject({
        param: "expire_previous_in",
        message: `expire_previous_in: Expected integer to be ${bound}.`,
      });
    const spec = (await call("GET", "/openapi.json")).body;
    const schema =
      spec.paths["/v1/api-keys/{id}/rotate"].post.requestBody.content["application/json"].schema;
    expect(schema.properties.expire_previous_in).toMatchObject({ minimum: 0, maximum: 2_592_000 });
    expect((await rotate(2_592_000)).status).toBe(200);
  });
});

describe("POST /v1/api-keys", () => {
  test("without a kind: a secret key, or a key pair where HTTP Basic is the only scheme for keys", async () => {
    const { call, partnerKey } = setup();
    const body = { name: "k", scopes: ["links:read"] };
    const secret = await call("POST", "/v1/api-keys", { key: partnerKey.secret, body });
    expect(secret.body).toMatchObject({ kind: "secret", public_key: null });

    const voltz = openTestApp({ config: { auth: { bearer: false, api_key_header: false } } });
    const platform = voltz.publicKeys;
    if (!platform) throw new Error("the platform keys should be pairs");
    const asPlatform = { authorization: basic(platform.live, voltz.live) };
    const made = await voltz.call("POST", "/v1/api-keys", { headers: asPlatform, body });
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({ kind: "pair", environment: "live" });
    expect(made.body.public_key).toMatch(/^pk_live_/);
    const me = await voltz.call("GET", "/v1/me", {
      headers: { authorization: basic(made.body.public_key, made.body.secret) },
    });
    expect(me.body.key.id).toBe(made.body.id);
    // Asked for, a secret key is still made: a backend can check it with POST /v1/keys/verify.
    const asked = await voltz.call("POST", "/v1/api-keys", {
      headers: asPlatform,
      body: { ...body, kind: "secret" },
    });
    expect(asked.body).toMatchObject({ kind: "secret", public_key: null });
  });

  test("a key the disk has no room for: 500 saying nothing changed, nothing written, and the same request works once there is room", async () => {
    const { call, partnerKey, kg } = setup();
    const count = (sql: string) =>
      kg.db.sql.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${sql}`).get()?.n;
    const pages = kg.db.sql.prepare<{ page_count: number }>("PRAGMA page_count").get();
    // The database may not grow: the first write that needs a new page fails (SQLITE_FULL).
    kg.db.sql.exec(`PRAGMA max_page_count = ${pages?.page_count}`);
    const send = (i: number) =>
      call("POST", "/v1/api-keys", {
        key: partnerKey.secret,
        body: { name: `k${i}`, scopes: ["links:read"] },
      });
    let attempt = 0;
    let failed = await send(attempt);
    while (failed.status === 200 && attempt < 100) failed = await send(++attempt);
    expect(failed.status).toBe(500);
    expect(failed.body.error).toMatchObject({
      type: "api_error",
      message: "The change could not be saved, so nothing was changed; it is safe to retry.",
    });
    const before = { events: count("events"), keys: count("api_keys") };
    expect(await send(attempt)).toMatchObject({ status: 500 });
    expect({ events: count("events"), keys: count("api_keys") }).toEqual(before);

    kg.db.sql.exec("PRAGMA max_page_count = 1000000");
    const retried = await send(attempt);
    expect(retried.status).toBe(200);
    expect(count("api_keys")).toBe((before.keys ?? 0) + 1);
  });

  test("defaults to the caller's environment and entity; the secret is shown once", async () => {
    const { call, partnerKey, partner } = setup();
    const created = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "billing", scopes: ["links:read"] },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      object: "api_key",
      environment: "live",
      livemode: true,
      entity_id: partner.id,
      kind: "secret",
      status: "active",
    });
    expect(created.body.secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    // No limit of its own: the effective (default) limit is shown, as SPEC §6's example does.
    expect(created.body.rate_limit).toEqual({ limit: 100, window_seconds: 1 });
    const read = await call("GET", `/v1/api-keys/${created.body.id}`, { key: partnerKey.secret });
    expect(read.body.secret).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toContain(created.body.secret);
    const list = await call("GET", "/v1/api-keys", { key: partnerKey.secret });
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    // The new key works.
    expect((await call("GET", "/v1/me", { key: created.body.secret })).body.key.id).toBe(
      created.body.id,
    );
  });

  test("a key never grants more than it holds: scopes, environment, entity", async () => {
    const { call, partnerKey, merchant, other } = setup();
    const scope = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "x", scopes: ["links:write"] },
    });
    expect([scope.status, codeOf(scope)]).toEqual([403, "insufficient_scope"]);
    expect(scope.body.error.message).toContain("links:write");
    const env = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "x", scopes: ["links:read"], environment: "test" },
    });
    expect([env.status, codeOf(env)]).toEqual([403, "environment_forbidden"]);
    const outside = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "x", scopes: ["links:read"], entity_id: other.id },
    });
    expect([outside.status, codeOf(outside), outside.body.error.param]).toEqual([
      403,
      "entity_forbidden",
      "entity_id",
    ]);
    const below = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "x", scopes: ["links:read"], entity_id: merchant.id },
    });
    expect(below.status).toBe(200);
    expect(below.body.entity_id).toBe(merchant.id);
  });

  test("key pairs: public key and secret, usable over HTTP Basic", async () => {
    const { call, partnerKey } = setup();
    const pair = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "pos", scopes: ["links:read"], kind: "pair" },
    });
    expect(pair.body).toMatchObject({ kind: "pair" });
    expect(pair.body.public_key).toMatch(/^pk_live_/);
    const basic = `Basic ${Buffer.from(`${pair.body.public_key}:${pair.body.secret}`).toString("base64")}`;
    expect((await call("GET", "/v1/me", { headers: { authorization: basic } })).status).toBe(200);
  });
});

describe("reading keys", () => {
  test("list: own environment and subtree only, cursor pagination, filters", async () => {
    const { call, kg, partnerKey, partner, merchant, other } = setup();
    for (let i = 0; i < 3; i++)
      createApiKey(
        kg,
        { entityId: merchant.id, environment: "live", name: `m${i}`, scopes: ["links:read"] },
        TEST_ACTOR,
      );
    createApiKey(
      kg,
      { entityId: merchant.id, environment: "test", name: "test-env", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    createApiKey(
      kg,
      { entityId: other.id, environment: "live", name: "other", scopes: ["links:read"] },
      TEST_ACTOR,
    );

    const first = await call("GET", "/v1/api-keys?limit=2", { key: partnerKey.secret });
    expect(first.body).toMatchObject({ object: "list", has_more: true });
    expect(first.body.data).toHaveLength(2);
    const rest = await call(
      "GET",
      `/v1/api-keys?limit=10&starting_after=${first.body.data[1].id}`,
      { key: partnerKey.secret },
    );
    expect(rest.body.has_more).toBe(false);
    const all = [...first.body.data, ...rest.body.data];
    expect(all.map((k: { name: string }) => k.name).sort()).toEqual(["m0", "m1", "m2", "partner"]);
    expect(all.every((k: { environment: string }) => k.environment === "live")).toBe(true);

    const filtered = await call("GET", `/v1/api-keys?entity_id=${merchant.id}`, {
      key: partnerKey.secret,
    });
    expect(filtered.body.data).toHaveLength(3);
    const forbidden = await call("GET", `/v1/api-keys?entity_id=${other.id}`, {
      key: partnerKey.secret,
    });
    expect(codeOf(forbidden)).toBe("entity_forbidden");
    expect(
      (
        await call("GET", `/v1/api-keys?entity_id=${partner.id}&status=revoked`, {
          key: partnerKey.secret,
        })
      ).body.data,
    ).toEqual([]);
  });

  test("a key of the other environment or outside the subtree is 404 resource_missing", async () => {
    const { call, kg, partnerKey, merchant, other } = setup();
    const testKey = createApiKey(
      kg,
      { entityId: merchant.id, environment: "test", name: "t", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const otherKey = createApiKey(
      kg,
      { entityId: other.id, environment: "live", name: "o", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    for (const id of [testKey.id, otherKey.id, "key_doesnotexist"]) {
      const reply = await call("GET", `/v1/api-keys/${id}`, { key: partnerKey.secret });
      expect([reply.status, codeOf(reply)]).toEqual([404, "resource_missing"]);
      expect(
        codeOf(await call("POST", `/v1/api-keys/${id}/revoke`, { key: partnerKey.secret })),
      ).toBe("resource_missing");
      // Nor is such a key a cursor: paging from where its id sorts would skip keys unseen.
      const paged = await call("GET", `/v1/api-keys?starting_after=${id}`, {
        key: partnerKey.secret,
      });
      expect([paged.status, codeOf(paged), paged.body.error.param]).toEqual([
        404,
        "resource_missing",
        "starting_after",
      ]);
    }
  });

  test("a key's timeline: api_keys:read or events:read, either alone; neither is 403 naming both; the other environment's key is 404", async () => {
    const { call, kg, partner, merchant } = setup();
    const key = createApiKey(
      kg,
      { entityId: merchant.id, environment: "live", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const testKey = createApiKey(
      kg,
      { entityId: merchant.id, environment: "test", name: "t", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const callerHolding = (scopes: string[]) =>
      createApiKey(kg, { entityId: partner.id, environment: "live", name: "c", scopes }, TEST_ACTOR)
        .secret;
    for (const scopes of [["api_keys:read"], ["events:read"], ["events:*"]]) {
      const timeline = await call("GET", `/v1/api-keys/${key.id}/events`, {
        key: callerHolding(scopes),
      });
      expect(timeline.status).toBe(200);
      expect(timeline.body.data.map((e: { type: string }) => e.type)).toEqual(["api_key.created"]);
    }
    for (const scopes of [["links:read"], ["api_keys:write", "events:write"]]) {
      const refused = await call("GET", `/v1/api-keys/${key.id}/events`, {
        key: callerHolding(scopes),
      });
      expect([refused.status, codeOf(refused)]).toEqual([403, "insufficient_scope"]);
      expect(refused.body.error.message).toContain("api_keys:read, events:read");
    }
    const otherEnvironment = await call("GET", `/v1/api-keys/${testKey.id}/events`, {
      key: callerHolding(["events:read"]),
    });
    expect([otherEnvironment.status, codeOf(otherEnvironment)]).toEqual([404, "resource_missing"]);
  });
});

describe("changing keys", () => {
  test("PATCH changes name, scopes and rate limit, within what the caller holds", async () => {
    const { call, partnerKey, kg, partner } = setup();
    const key = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const patched = await call("PATCH", `/v1/api-keys/${key.id}`, {
      key: partnerKey.secret,
      body: { name: "renamed", rate_limit: { limit: 60, window_seconds: 60 } },
    });
    expect(patched.body).toMatchObject({
      name: "renamed",
      rate_limit: { limit: 60, window_seconds: 60 },
      scopes: ["links:read"],
    });
    const cleared = await call("PATCH", `/v1/api-keys/${key.id}`, {
      key: partnerKey.secret,
      body: { rate_limit: null },
    });
    expect(cleared.body.rate_limit).toEqual({ limit: 100, window_seconds: 1 });
    const escalate = await call("PATCH", `/v1/api-keys/${key.id}`, {
      key: partnerKey.secret,
      body: { scopes: ["*"] },
    });
    expect(codeOf(escalate)).toBe("insufficient_scope");
  });

  test("a key's entity, environment and kind are fixed at creation: PATCH naming one is 400 naming it, and nothing changes", async () => {
    const { call, partnerKey, kg, partner, merchant } = setup();
    const key = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const before = (await call("GET", `/v1/api-keys/${key.id}`, { key: partnerKey.secret })).text;
    const head = kg.store.headPosition();
    for (const [field, value] of [
      ["environment", "test"],
      ["entity_id", merchant.id],
      ["kind", "pair"],
      ["livemode", false],
    ] as const) {
      const refused = await call("PATCH", `/v1/api-keys/${key.id}`, {
        key: partnerKey.secret,
        body: { name: "renamed", [field]: value },
      });
      expect([refused.status, codeOf(refused), refused.body.error.param]).toEqual([
        400,
        "invalid_request",
        field,
      ]);
    }
    expect(kg.store.headPosition()).toBe(head);
    expect((await call("GET", `/v1/api-keys/${key.id}`, { key: partnerKey.secret })).text).toBe(
      before,
    );
  });

  test("rotate with and without overlap; revoke twice is not an error; the timeline tells it all", async () => {
    const { call, partnerKey, kg, partner, clock } = setup();
    const key = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const overlap = await call("POST", `/v1/api-keys/${key.id}/rotate`, {
      key: partnerKey.secret,
      body: { expire_previous_in: 120 },
    });
    expect(overlap.body.id).toBe(key.id);
    expect((await call("GET", "/v1/me", { key: key.secret })).status).toBe(200);
    expect((await call("GET", "/v1/me", { key: overlap.body.secret })).status).toBe(200);
    clock.advance(121);
    expect(codeOf(await call("GET", "/v1/me", { key: key.secret }))).toBe("api_key_revoked");

    const immediate = await call("POST", `/v1/api-keys/${key.id}/rotate`, {
      key: partnerKey.secret,
    });
    expect(codeOf(await call("GET", "/v1/me", { key: overlap.body.secret }))).toBe(
      "api_key_revoked",
    );
    expect((await call("GET", "/v1/me", { key: immediate.body.secret })).status).toBe(200);

    const revoked = await call("POST", `/v1/api-keys/${key.id}/revoke`, {
      key: partnerKey.secret,
      body: { reason: "rotated out" },
    });
    expect(revoked.body).toMatchObject({ status: "revoked", active: false });
    expect(
      (await call("POST", `/v1/api-keys/${key.id}/revoke`, { key: partnerKey.secret })).status,
    ).toBe(200);
    expect(
      codeOf(await call("POST", `/v1/api-keys/${key.id}/rotate`, { key: partnerKey.secret })),
    ).toBe("invalid_request");

    const timeline = await call("GET", `/v1/api-keys/${key.id}/events`, { key: partnerKey.secret });
    expect(timeline.body.data.map((e: { type: string }) => e.type)).toEqual([
      "api_key.created",
      "api_key.rotated",
      "api_key.rotated",
      "api_key.revoked",
    ]);
    expect(timeline.body.data[1].metadata.actor).toBe(partnerKey.id);
    expect(timeline.body.data[1].metadata.request_id).toMatch(/^req_/);
    expect(JSON.stringify(timeline.body)).not.toContain(overlap.body.secret);
  });

  test("a key never manages one that holds more: rotating the platform's * key would hand over *", async () => {
    const { call, kg, live, partner, partnerKey } = setup();
    // A key in the partner's subtree holding more than the partner key does.
    const greater = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "ops", scopes: ["*"] },
      TEST_ACTOR,
    );
    const head = kg.store.headPosition();
    for (const [method, path, body] of [
      ["POST", `/v1/api-keys/${greater.id}/rotate`, {}],
      ["POST", `/v1/api-keys/${greater.id}/revoke`, {}],
      ["PATCH", `/v1/api-keys/${greater.id}`, { name: "renamed" }],
    ] as const) {
      const refused = await call(method, path, { key: partnerKey.secret, body });
      expect([refused.status, codeOf(refused)]).toEqual([403, "insufficient_scope"]);
      expect(refused.body.error.message).toContain("cannot manage a key holding *");
      expect(refused.body.secret).toBeUndefined();
    }
    expect(kg.store.headPosition()).toBe(head);
    // The greater key still works with its old secret.
    expect((await call("GET", "/v1/me", { key: greater.secret })).status).toBe(200);
    // A key it could have made, and itself, it manages as before; a * key manages any.
    const lesser = await call("POST", "/v1/api-keys", {
      key: partnerKey.secret,
      body: { name: "lesser", scopes: ["links:read"] },
    });
    const own = await call("POST", `/v1/api-keys/${lesser.body.id}/rotate`, {
      key: partnerKey.secret,
      body: {},
    });
    expect(own.body.secret).toMatch(/^sk_live_/);
    const self = await call("POST", `/v1/api-keys/${partnerKey.id}/rotate`, {
      key: partnerKey.secret,
      body: { expire_previous_in: 60 },
    });
    expect(self.status).toBe(200);
    expect(
      (await call("POST", `/v1/api-keys/${greater.id}/rotate`, { key: live, body: {} })).status,
    ).toBe(200);
  });

  test("a rotated-out secret keeps authenticating but cannot rotate, change or revoke its own key", async () => {
    const { call, kg, partnerKey } = setup();
    const rotated = await call("POST", `/v1/api-keys/${partnerKey.id}/rotate`, {
      key: partnerKey.secret,
      body: { expire_previous_in: 3600 },
    });
    expect(rotated.status).toBe(200);
    const retired = partnerKey.secret;
    expect((await call("GET", "/v1/me", { key: retired })).status).toBe(200);
    const head = kg.store.headPosition();
    for (const [method, path, body] of [
      ["POST", `/v1/api-keys/${partnerKey.id}/rotate`, { expire_previous_in: 0 }],
      ["PATCH", `/v1/api-keys/${partnerKey.id}`, { scopes: ["links:read"] }],
      ["POST", `/v1/api-keys/${partnerKey.id}/revoke`, {}],
    ] as const) {
      const refused = await call(method, path, { key: retired, body });
      expect([refused.status, codeOf(refused)]).toEqual([403, "access_denied"]);
      expect(refused.body.error.message).toContain("rotated out");
      expect(refused.body.secret).toBeUndefined();
    }
    expect(kg.store.headPosition()).toBe(head);
    // The secret that replaced it still works and still owns the key.
    expect((await call("GET", "/v1/me", { key: rotated.body.secret })).status).toBe(200);
    // The retired secret manages other keys as the key always could (the overlap is for traffic).
    const made = await call("POST", "/v1/api-keys", {
      key: retired,
      body: { name: "made", scopes: ["links:read"] },
    });
    expect(made.status).toBe(200);
    expect(
      (await call("POST", `/v1/api-keys/${made.body.id}/rotate`, { key: retired, body: {} }))
        .status,
    ).toBe(200);
    expect(
      (
        await call("PATCH", `/v1/api-keys/${partnerKey.id}`, {
          key: rotated.body.secret,
          body: { name: "renamed" },
        })
      ).status,
    ).toBe(200);
  });

  test("a dashboard user's JWT creates keys of either environment inside its subtree", async () => {
    const { call, kg, partner, other } = setup();
    await givenUser(kg, {
      email: "p@example.com",
      password: "partner password",
      entityId: partner.id,
    });
    const token = (
      await call("POST", "/v1/auth/login", {
        body: { email: "p@example.com", password: "partner password" },
      })
    ).body.token;
    for (const environment of ["live", "test"]) {
      const made = await call("POST", "/v1/api-keys", {
        key: token,
        body: { name: environment, scopes: ["sessions:write"], environment },
      });
      expect([made.status, made.body.environment]).toEqual([200, environment]);
      expect(made.body.entity_id).toBe(partner.id);
    }
    const outside = await call("POST", "/v1/api-keys", {
      key: token,
      body: { name: "x", scopes: ["links:read"], entity_id: other.id },
    });
    expect(codeOf(outside)).toBe("entity_forbidden");
    const listed = await call("GET", "/v1/api-keys", { key: token });
    expect(listed.body.data.map((k: { environment: string }) => k.environment).sort()).toEqual([
      "live",
      "live",
      "test",
    ]);
  });
});

describe("a key never grants more than it holds: its rate limit", () => {
  /** A partner key with a limit of its own, 10 requests per 60 s, that manages keys. */
  function throttled() {
    const t = setup();
    const key = createApiKey(
      t.kg,
      {
        entityId: t.partner.id,
        environment: "live",
        name: "throttled",
        scopes: ["api_keys:read", "api_keys:write", "links:read"],
        rateLimit: { limit: 10, window_seconds: 60 },
      },
      TEST_ACTOR,
    );
    return { ...t, throttled: key };
  }

  const create = (t: ReturnType<typeof setup>, key: string, rateLimit?: object | null) =>
    t.call("POST", "/v1/api-keys", {
      key,
      body: {
        name: "made",
        scopes: ["links:read"],
        ...(rateLimit === undefined ? {} : { rate_limit: rateLimit }),
      },
    });

  test("a throttled key cannot lift its own limit; it may lower it", async () => {
    const t = throttled();
    const lifted = await t.call("PATCH", `/v1/api-keys/${t.throttled.id}`, {
      key: t.throttled.secret,
      body: { rate_limit: { limit: 1_000_000, window_seconds: 1 } },
    });
    expect([lifted.status, codeOf(lifted), lifted.body.error.param]).toEqual([
      403,
      "access_denied",
      "rate_limit",
    ]);
    expect(lifted.body.error.message).toContain("more than this caller is held to (10 per 60 s)");
    const cleared = await t.call("PATCH", `/v1/api-keys/${t.throttled.id}`, {
      key: t.throttled.secret,
      body: { rate_limit: null },
    });
    expect(codeOf(cleared)).toBe("access_denied");
    const read = await t.call("GET", `/v1/api-keys/${t.throttled.id}`, { key: t.live });
    expect(read.body.rate_limit).toEqual({ limit: 10, window_seconds: 60 });
    const lowered = await t.call("PATCH", `/v1/api-keys/${t.throttled.id}`, {
      key: t.throttled.secret,
      body: { rate_limit: { limit: 5, window_seconds: 60 } },
    });
    expect([lowered.status, lowered.body.rate_limit]).toEqual([
      200,
      { limit: 5, window_seconds: 60 },
    ]);
  });

  test("a throttled key makes keys within its limit only: no more at once, no more on average", async () => {
    const t = throttled();
    const statuses: Record<string, number> = {};
    for (const [name, rateLimit] of [
      ["none (the default, 100/1s)", undefined],
      ["its own", { limit: 10, window_seconds: 60 }],
      ["half the burst, the same rate", { limit: 5, window_seconds: 30 }],
      ["a bigger burst", { limit: 20, window_seconds: 120 }],
      ["a higher rate", { limit: 1, window_seconds: 1 }],
    ] as const)
      statuses[name] = (await create(t, t.throttled.secret, rateLimit)).status;
    expect(statuses).toEqual({
      "none (the default, 100/1s)": 403,
      "its own": 200,
      "half the burst, the same rate": 200,
      "a bigger burst": 403,
      "a higher rate": 403,
    });
    const refused = await create(t, t.throttled.secret);
    expect(refused.body.error.message).toContain("No rate_limit — the default of 100 per 1 s —");
  });

  test("a key under the default is held to the default; the platform's own keys to nothing", async () => {
    const t = setup();
    expect((await create(t, t.partnerKey.secret)).status).toBe(200);
    expect((await create(t, t.partnerKey.secret, { limit: 60, window_seconds: 60 })).status).toBe(
      200,
    );
    const over = await create(t, t.partnerKey.secret, { limit: 1000, window_seconds: 60 });
    expect(codeOf(over)).toBe("access_denied");
    expect(over.body.error.message).toContain("(100 per 1 s)");
    const big = await t.call("POST", "/v1/api-keys", {
      key: t.live,
      body: {
        name: "high volume",
        scopes: ["links:read"],
        entity_id: t.partner.id,
        rate_limit: { limit: 1_000_000, window_seconds: 1 },
      },
    });
    expect(big.status).toBe(200);
    // The partner may still manage the key the platform made: rename it, send its limit back
    // as read, lower it — but not raise it further.
    const path = `/v1/api-keys/${big.body.id}`;
    const renamed = await t.call("PATCH", path, {
      key: t.partnerKey.secret,
      body: { name: "renamed", rate_limit: { limit: 1_000_000, window_seconds: 1 } },
    });
    expect(renamed.status).toBe(200);
    const raised = await t.call("PATCH", path, {
      key: t.partnerKey.secret,
      body: { rate_limit: { limit: 2_000_000, window_seconds: 1 } },
    });
    expect(codeOf(raised)).toBe("access_denied");
    const lowered = await t.call("PATCH", path, {
      key: t.partnerKey.secret,
      body: { rate_limit: { limit: 50, window_seconds: 1 } },
    });
    expect(lowered.status).toBe(200);
  });

  test("a dashboard user below the platform is held to the default; with rate limits off, nobody is", async () => {
    const t = setup();
    await givenUser(t.kg, {
      email: "p@example.com",
      password: "partner password",
      entityId: t.partner.id,
    });
    const token = (
      await t.call("POST", "/v1/auth/login", {
        body: { email: "p@example.com", password: "partner password" },
      })
    ).body.token;
    expect((await create(t, token)).status).toBe(200);
    expect(codeOf(await create(t, token, { limit: 101, window_seconds: 1 }))).toBe("access_denied");

    const off = openTestApp({ config: { rate_limits: { enabled: false } } });
    const partner = createEntity(
      off.kg,
      { kind: "partner", name: "P", parentId: off.platform },
      TEST_ACTOR,
    );
    const key = createApiKey(
      off.kg,
      {
        entityId: partner.id,
        environment: "live",
        name: "k",
        scopes: ["api_keys:write"],
        rateLimit: { limit: 1, window_seconds: 60 },
      },
      TEST_ACTOR,
    );
    const lifted = await off.call("PATCH", `/v1/api-keys/${key.id}`, {
      key: key.secret,
      body: { rate_limit: { limit: 1000, window_seconds: 1 } },
    });
    expect(lifted.status).toBe(200);
  });
});

test("a key that expires never creates one that outlives it", async () => {
  const t = setup();
  const inAWeek = new Date(t.clock.now().getTime() + 7 * 86_400_000);
  const lent = createApiKey(
    t.kg,
    {
      entityId: t.partner.id,
      environment: "live",
      name: "contractor",
      scopes: ["api_keys:write", "links:read"],
      expiresAt: inAWeek,
    },
    TEST_ACTOR,
  );
  const make = (expiresAt?: Date) =>
    t.call("POST", "/v1/api-keys", {
      key: lent.secret,
      body: {
        name: "made",
        scopes: ["links:read"],
        ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
      },
    });
  const forever = await make();
  expect([forever.status, codeOf(forever), forever.body.error.param]).toEqual([
    403,
    "access_denied",
    "expires_at",
  ]);
  expect(forever.body.error.message).toContain(inAWeek.toISOString());
  expect(codeOf(await make(new Date(inAWeek.getTime() + 1000)))).toBe("access_denied");
  const within = await make(new Date(inAWeek.getTime() - 86_400_000));
  expect(within.status).toBe(200);
  expect((await make(inAWeek)).status).toBe(200);
  // A key without an expiry gives any.
  expect(
    (
      await t.call("POST", "/v1/api-keys", {
        key: t.partnerKey.secret,
        body: { name: "permanent", scopes: ["links:read"] },
      })
    ).status,
  ).toBe(200);
});

test("rotating hands over a secret: only of a key allowed no more and living no longer than the caller", async () => {
  const t = setup();
  const sibling = (name: string, extra: object) =>
    createApiKey(
      t.kg,
      { entityId: t.partner.id, environment: "live", name, scopes: ["links:read"], ...extra },
      TEST_ACTOR,
    );
  const fast = sibling("fast", { rateLimit: { limit: 1000, window_seconds: 1 } });
  const permanent = sibling("permanent", {});
  const rotate = (caller: string, id: string) =>
    t.call("POST", `/v1/api-keys/${id}/rotate`, { key: caller });

  // The partner key runs under the default (100/1s): it may not take a 1000/1s key's secret.
  const faster = await rotate(t.partnerKey.secret, fast.id);
  expect([faster.status, codeOf(faster)]).toEqual([403, "access_denied"]);
  expect(faster.body.error.message).toContain("allowed 1000 per 1 s");
  expect(faster.body.secret).toBeUndefined();

  const lent = createApiKey(
    t.kg,
    {
      entityId: t.partner.id,
      environment: "live",
      name: "for a week",
      scopes: ["api_keys:write", "links:read"],
      expiresAt: new Date(t.clock.now().getTime() + 7 * 86_400_000),
    },
    TEST_ACTOR,
  );
  const longer = await rotate(lent.secret, permanent.id);
  expect([longer.status, codeOf(longer)]).toEqual([403, "access_denied"]);
  expect(longer.body.error.message).toContain("never expires");
  const shorter = sibling("for a day", {
    expiresAt: new Date(t.clock.now().getTime() + 86_400_000),
  });
  expect((await rotate(lent.secret, shorter.id)).status).toBe(200);
  // The platform's key may rotate them all; so may the partner's the permanent one.
  expect((await rotate(t.live, fast.id)).status).toBe(200);
  expect((await rotate(t.partnerKey.secret, permanent.id)).status).toBe(200);
});

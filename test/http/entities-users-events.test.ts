import { describe, expect, test } from "bun:test";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, revokeApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { EVENTS_SCAN_WINDOW } from "../../src/http/routes/events.ts";
import { allProjections, rebuildProjections } from "../../src/projections/rebuild.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser, partnerAndOutsider, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();
function setup() {
  const t = openTestApp();
  const { partner, other } = partnerAndOutsider(t.kg, t.platform);
  const partnerKey = createApiKey(
    t.kg,
    {
      entityId: partner.id,
      environment: "live",
      name: "pk",
      scopes: ["entities:*", "users:write", "events:read", "api_keys:verify", "api_keys:read"],
    },
    TEST_ACTOR,
  );
  return { ...t, partner, other, partnerKey: partnerKey.secret, partnerKeyId: partnerKey.id };
}

describe("/v1/entities", () => {
  test("create under the caller by default, read, list children, deactivate and reactivate", async () => {
    const { call, partner, partnerKey } = setup();
    const merchant = await call("POST", "/v1/entities", {
      key: partnerKey,
      body: { kind: "merchant", name: "Acme", reference: "M-1" },
    });
    expect(merchant.status).toBe(200);
    expect(merchant.body).toMatchObject({
      object: "entity",
      kind: "merchant",
      parent_id: partner.id,
      reference: "M-1",
      active: true,
    });
    const branch = await call("POST", "/v1/entities", {
      key: partnerKey,
      body: { kind: "branch", name: "BR", parent_id: merchant.body.id, reference: "BR-001" },
    });
    expect(branch.body.path).toEqual([...merchant.body.path, branch.body.id]);
    expect((await call("GET", `/v1/entities/${branch.body.id}`, { key: partnerKey })).body.id).toBe(
      branch.body.id,
    );
    const children = await call("GET", `/v1/entities/${merchant.body.id}/children`, {
      key: partnerKey,
    });
    expect(children.body.data.map((e: { id: string }) => e.id)).toEqual([branch.body.id]);
    const off = await call("POST", `/v1/entities/${merchant.body.id}/deactivate`, {
      key: partnerKey,
    });
    expect(off.body.active).toBe(false);
    expect(
      (await call("GET", `/v1/entities/${branch.body.id}`, { key: partnerKey })).body.active,
    ).toBe(false);
    expect(
      (await call("POST", `/v1/entities/${merchant.body.id}/reactivate`, { key: partnerKey })).body
        .active,
    ).toBe(true);
  });

  test("a deactivation from above the caller cannot be undone by the caller: the platform's suspension of a merchant holds against its partner", async () => {
    const { call, kg, partner, partnerKey, live, platform } = setup();
    const merchant = createEntity(
      kg,
      { kind: "merchant", name: "Acme", parentId: partner.id },
      TEST_ACTOR,
    );
    const post = (action: string, key: string) =>
      call("POST", `/v1/entities/${merchant.id}/${action}`, { key });
    // The partner deactivated it first; the platform's deactivation takes the lock over.
    expect((await post("deactivate", partnerKey)).body.active).toBe(false);
    const before = kg.store.readStream(merchant.id).length;
    expect((await post("deactivate", live)).status).toBe(200);
    const events = kg.store.readStream(merchant.id);
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)?.data).toEqual({ entity_id: merchant.id, by_entity_id: platform });
    const refused = await post("reactivate", partnerKey);
    expect([refused.status, codeOf(refused)]).toEqual([403, "entity_forbidden"]);
    expect(refused.body.error.message).toMatch(/from above the caller's entity/);
    expect(kg.store.readStream(merchant.id).length).toBe(before + 1);
    expect(
      (await call("GET", `/v1/entities/${merchant.id}`, { key: partnerKey })).body.active,
    ).toBe(false);
    // The platform may undo it; a deactivation by the partner itself stays the partner's to undo.
    expect((await post("reactivate", live)).body.active).toBe(true);
    expect((await post("deactivate", partnerKey)).body.active).toBe(false);
    expect((await post("reactivate", partnerKey)).body.active).toBe(true);
  });

  test("children come in pages: 10 by default, at most 100, after an id, has_more when more are left", async () => {
    const t = setup();
    const made = Array.from({ length: 12 }, (_, i) =>
      createEntity(
        t.kg,
        { kind: "merchant", name: `M${i}`, parentId: t.partner.id, reference: `m-${i}` },
        TEST_ACTOR,
      ),
    );
    const ids = made.map((e) => e.id).sort();
    const page = (query: string) =>
      t.call("GET", `/v1/entities/${t.partner.id}/children${query}`, { key: t.partnerKey });
    const first = await page("");
    expect(first.body.data.map((e: { id: string }) => e.id)).toEqual(ids.slice(0, 10));
    expect(first.body.has_more).toBe(true);
    const rest = await page(`?starting_after=${ids[9]}&limit=5`);
    expect(rest.body.data.map((e: { id: string }) => e.id)).toEqual(ids.slice(10));
    expect(rest.body.has_more).toBe(false);
    const tooMany = await page("?limit=101");
    expect([tooMany.status, tooMany.body.error.param]).toEqual([400, "limit"]);
    const notAnId = await page("?starting_after=key_123");
    expect([notAnId.status, notAnId.body.error.param]).toEqual([400, "starting_after"]);
    // The cursor must be one of the children: an unknown id, or another parent's child
    // (the partner itself here), would page from wherever its id sorts.
    for (const cursor of ["ent_zzz", t.partner.id]) {
      const notAChild = await page(`?starting_after=${cursor}`);
      expect([notAChild.status, codeOf(notAChild), notAChild.body.error.param]).toEqual([
        404,
        "resource_missing",
        "starting_after",
      ]);
    }
  });

  test("outside the subtree: entity_forbidden; unknown: resource_missing; bad tree or duplicate reference: clear errors", async () => {
    const { call, partnerKey, other, platform } = setup();
    expect(codeOf(await call("GET", `/v1/entities/${other.id}`, { key: partnerKey }))).toBe(
      "entity_forbidden",
    );
    expect(codeOf(await call("GET", `/v1/entities/${platform}`, { key: partnerKey }))).toBe(
      "entity_forbidden",
    );
    expect(
      codeOf(await call("POST", `/v1/entities/${other.id}/deactivate`, { key: partnerKey })),
    ).toBe("entity_forbidden");
    expect(
      codeOf(
        await call("POST", "/v1/entities", {
          key: partnerKey,
          body: { kind: "merchant", name: "x", parent_id: other.id },
        }),
      ),
    ).toBe("entity_forbidden");
    expect(codeOf(await call("GET", "/v1/entities/ent_nothing", { key: partnerKey }))).toBe(
      "resource_missing",
    );
    const badTree = await call("POST", "/v1/entities", {
      key: partnerKey,
      body: { kind: "branch", name: "x" },
    });
    expect([badTree.status, codeOf(badTree)]).toEqual([400, "invalid_request"]);
    await call("POST", "/v1/entities", {
      key: partnerKey,
      body: { kind: "merchant", name: "a", reference: "SAME" },
    });
    const dup = await call("POST", "/v1/entities", {
      key: partnerKey,
      body: { kind: "merchant", name: "b", reference: "SAME" },
    });
    expect([dup.status, codeOf(dup), dup.body.error.param]).toEqual([
      409,
      "resource_conflict",
      "reference",
    ]);
  });
});

describe("/v1/users", () => {
  test("creates a user in the subtree, never echoing the password", async () => {
    const { call, kg, partner, other } = setup();
    // Creating users needs a caller holding every scope (see "no way up" below).
    const partnerKey = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "admin", scopes: ["*"] },
      TEST_ACTOR,
    ).secret;
    const user = await call("POST", "/v1/users", {
      key: partnerKey,
      body: { email: "a@b.co", password: "secret passphrase", entity_id: partner.id },
    });
    expect(user.body).toEqual({
      object: "user",
      id: user.body.id,
      email: "a@b.co",
      entity_id: partner.id,
      active: true,
      password_changed_at: null,
      created_at: kg.now().toISOString(),
    });
    expect(JSON.stringify(user.body)).not.toContain("secret passphrase");
    const outside = await call("POST", "/v1/users", {
      key: partnerKey,
      body: { email: "c@d.co", password: "secret passphrase", entity_id: other.id },
    });
    expect(codeOf(outside)).toBe("entity_forbidden");
    const dup = await call("POST", "/v1/users", {
      key: partnerKey,
      body: { email: "A@B.co", password: "secret passphrase", entity_id: partner.id },
    });
    expect(codeOf(dup)).toBe("resource_conflict");
  });
});

/** A dashboard user made directly (no HTTP), at `entityId`. */
async function userAt(kg: Keygate, entityId: string, email: string, password: string) {
  return givenUser(kg, { email, password, entityId });
}

describe("/v1/users/{id}/deactivate and /reactivate", () => {
  test("deactivating a user ends its logins and its tokens at once; the keys it made keep working", async () => {
    const { call, kg, partner, partnerKey, live } = setup();
    const user = await userAt(kg, partner.id, "ops@b.co", "ops password!");
    const login = (password = "ops password!") =>
      call("POST", "/v1/auth/login", { body: { email: "ops@b.co", password } });
    const token = (await login()).body.token;
    const made = await call("POST", "/v1/api-keys", {
      key: token,
      body: { name: "made by ops", scopes: ["links:read"], environment: "live" },
    });
    expect(made.status).toBe(200);

    const off = await call("POST", `/v1/users/${user.id}/deactivate`, { key: partnerKey });
    expect(off.body).toEqual({ ...user, active: false });
    const refused = await call("GET", "/v1/api-keys", { key: token });
    expect([refused.status, codeOf(refused)]).toEqual([401, "invalid_token"]);
    expect(refused.body.error.message).toContain("deactivated");
    const relogin = await login();
    expect([relogin.status, codeOf(relogin), relogin.body.error.message]).toEqual([
      401,
      "invalid_credentials",
      "This user is deactivated.",
    ]);
    expect(relogin.body.token).toBeUndefined();
    // A wrong password learns nothing about the account's state.
    expect((await login("wrong password")).body.error.message).not.toContain("deactivated");
    expect((await call("GET", "/v1/me", { key: made.body.secret })).status).toBe(200);

    const head = kg.store.headPosition();
    expect(
      (await call("POST", `/v1/users/${user.id}/deactivate`, { key: partnerKey })).status,
    ).toBe(200);
    expect(kg.store.headPosition()).toBe(head);
    const events = await call("GET", "/v1/events?limit=100", { key: partnerKey });
    expect(events.body.data.map((e: { type: string }) => e.type)).toContain("user.deactivated");

    // Reactivating hands `*` in the subtree back, so it needs a caller holding `*`, as creating does.
    const notAll = await call("POST", `/v1/users/${user.id}/reactivate`, { key: partnerKey });
    expect([notAll.status, codeOf(notAll)]).toEqual([403, "insufficient_scope"]);
    expect(kg.store.headPosition()).toBe(head);
    const on = await call("POST", `/v1/users/${user.id}/reactivate`, { key: live });
    expect(on.body.active).toBe(true);
    expect((await login()).status).toBe(200);
  });

  test("a user outside the caller's subtree, or none, is resource_missing; users:write is needed", async () => {
    const { call, kg, other, partnerKey, live } = setup();
    const outsider = await userAt(kg, other.id, "x@b.co", "outsider password");
    for (const id of [outsider.id, "usr_missing"]) {
      const reply = await call("POST", `/v1/users/${id}/deactivate`, { key: partnerKey });
      expect([reply.status, codeOf(reply)]).toEqual([404, "resource_missing"]);
    }
    const reader = createApiKey(
      kg,
      { entityId: other.id, environment: "live", name: "r", scopes: ["entities:read"] },
      TEST_ACTOR,
    );
    const noScope = await call("POST", `/v1/users/${outsider.id}/deactivate`, {
      key: reader.secret,
    });
    expect(codeOf(noScope)).toBe("insufficient_scope");
    expect((await call("POST", `/v1/users/${outsider.id}/deactivate`, { key: live })).status).toBe(
      200,
    );
  });
});

describe("/v1/users: no way up", () => {
  test("a key with users:write but not * cannot create a user (whose token could mint * keys)", async () => {
    const { call, kg, partner } = setup();
    const limited = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "u", scopes: ["users:write"] },
      TEST_ACTOR,
    );
    const reply = await call("POST", "/v1/users", {
      key: limited.secret,
      body: { email: "sneaky@b.co", password: "a long password", entity_id: partner.id },
    });
    expect([reply.status, codeOf(reply)]).toEqual([403, "insufficient_scope"]);
  });

  test("a * key that expires gives no dashboard access, which never does: no user created, reactivated or given a password", async () => {
    const { call, kg, partner, clock } = setup();
    const lent = createApiKey(
      kg,
      {
        entityId: partner.id,
        environment: "live",
        name: "for a week",
        scopes: ["*"],
        expiresAt: new Date(clock.now().getTime() + 7 * 86_400_000),
      },
      TEST_ACTOR,
    );
    const user = await givenUser(kg, {
      email: "owner@b.co",
      password: "the owner's password",
      entityId: partner.id,
    });
    const refused = [
      await call("POST", "/v1/users", {
        key: lent.secret,
        body: { email: "lasting@b.co", password: "a long password", entity_id: partner.id },
      }),
      await call("POST", `/v1/users/${user.id}/password`, {
        key: lent.secret,
        body: { password: "taken over for good" },
      }),
      await call("POST", `/v1/users/${user.id}/reactivate`, { key: lent.secret }),
    ];
    expect(refused.map((r) => [r.status, codeOf(r)])).toEqual([
      [403, "access_denied"],
      [403, "access_denied"],
      [403, "access_denied"],
    ]);
    expect(refused[0]?.body.error.message).toContain("a user never expires");
    // What does not outlive it, it may do: deactivate the user.
    expect(
      (await call("POST", `/v1/users/${user.id}/deactivate`, { key: lent.secret })).status,
    ).toBe(200);
  });
});

describe("/v1/events", () => {
  test("the platform key sees every event of its environment; others only their subtree's; pages with after/next_after", async () => {
    const { call, live, partnerKey, partnerKeyId, partner, other, kg } = setup();
    const all = await call("GET", "/v1/events?limit=1000", { key: live });
    // Everything but the creation of the test platform key.
    expect(all.body.data).toHaveLength(kg.store.headPosition() - 1);
    const mine = await call("GET", "/v1/events", { key: partnerKey });
    const streams = new Set(mine.body.data.map((e: { stream_id: string }) => e.stream_id));
    expect(streams).toEqual(new Set([partner.id, partnerKeyId]));
    expect(streams.has(other.id)).toBe(false);
    const page = await call("GET", "/v1/events?limit=2", { key: live });
    expect(page.body).toMatchObject({ has_more: true, next_after: 2 });
    const next = await call("GET", `/v1/events?after=${page.body.next_after}&limit=1`, {
      key: live,
    });
    // Position 3 is the test platform key's creation: not the live key's to see.
    expect(next.body.data[0].position).toBe(4);
    expect(next.body.data[0].hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a key sees nothing of the other environment: not its keys' events, not its idempotent results", async () => {
    const { call, live, test: testKey, kg, partner } = setup();
    const secretName = "live payouts — production";
    await call("POST", "/v1/api-keys", {
      key: live,
      headers: { "idempotency-key": "live-only-0001" },
      body: { name: secretName, scopes: ["links:read"] },
    });
    const partnerTest = createApiKey(
      kg,
      { entityId: partner.id, environment: "test", name: "pt", scopes: ["events:read"] },
      TEST_ACTOR,
    );
    await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "partner live", scopes: ["links:read"], entity_id: partner.id },
    });
    for (const key of [testKey, partnerTest.secret]) {
      const seen = await call("GET", "/v1/events?limit=1000", { key });
      expect(seen.status).toBe(200);
      const environments = seen.body.data
        .filter((e: { type: string }) => e.type.startsWith("api_key."))
        .map((e: { data: { environment?: string } }) => e.data.environment);
      expect(environments.length).toBeGreaterThan(0);
      expect(new Set(environments)).toEqual(new Set(["test"]));
      expect(seen.body.data.some((e: { type: string }) => e.type === "idempotency.recorded")).toBe(
        false,
      );
      expect(JSON.stringify(seen.body)).not.toContain(secretName);
    }
    const liveSeen = await call("GET", "/v1/events?limit=1000", { key: live });
    const types = liveSeen.body.data.map((e: { type: string }) => e.type);
    expect(types).toContain("idempotency.recorded");
    expect(JSON.stringify(liveSeen.body)).toContain(secretName);
  });

  test("below the platform, a key sees the idempotent results recorded for its subtree in its environment, no one else's", async () => {
    const { call, live, kg, partner, other, partnerKey } = setup();
    const eventsKey = (entityId: string, environment: "live" | "test") =>
      createApiKey(
        kg,
        { entityId, environment, name: "reader", scopes: ["events:read", "entities:write"] },
        TEST_ACTOR,
      ).secret;
    const merchant = await call("POST", "/v1/entities", {
      key: partnerKey,
      headers: { "idempotency-key": "partner-merchant-0001" },
      body: { kind: "merchant", name: "Acme" },
    });
    const merchantKey = eventsKey(merchant.body.id, "live");
    await call("POST", "/v1/entities", {
      key: merchantKey,
      headers: { "idempotency-key": "merchant-branch-0001" },
      body: { kind: "branch", name: "BR" },
    });
    await call("POST", "/v1/entities", {
      key: live,
      headers: { "idempotency-key": "platform-partner-0001" },
      body: { kind: "partner", name: "Elsewhere" },
    });
    const resultsSeenBy = async (key: string) =>
      (await call("GET", "/v1/events?limit=1000", { key })).body.data
        .filter((e: { type: string }) => e.type === "idempotency.recorded")
        .map((e: { data: { idempotency_key: string } }) => e.data.idempotency_key)
        .sort();
    expect(await resultsSeenBy(partnerKey)).toEqual([
      "merchant-branch-0001",
      "partner-merchant-0001",
    ]);
    expect(await resultsSeenBy(merchantKey)).toEqual(["merchant-branch-0001"]);
    expect(await resultsSeenBy(eventsKey(other.id, "live"))).toEqual([]);
    expect(await resultsSeenBy(eventsKey(partner.id, "test"))).toEqual([]);
    expect(await resultsSeenBy(live)).toEqual([
      "merchant-branch-0001",
      "partner-merchant-0001",
      "platform-partner-0001",
    ]);
  });

  test("a platform key's request reads at most EVENTS_SCAN_WINDOW positions: a sparse environment's pages come back short, with has_more, and reading on finds every event it may see", async () => {
    const { call, live, test: testKey, kg, platform } = setup();
    // More live key events than one window, then one the test key may see.
    for (let i = 0; i < EVENTS_SCAN_WINDOW + 200; i++) {
      createApiKey(
        kg,
        { entityId: platform, environment: "live", name: `l${i}`, scopes: ["links:read"] },
        TEST_ACTOR,
      );
    }
    const late = createApiKey(
      kg,
      { entityId: platform, environment: "test", name: "late", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const head = kg.store.headPosition();

    const first = await call("GET", "/v1/events?limit=1000", { key: testKey });
    expect(first.status).toBe(200);
    expect(first.body.has_more).toBe(true);
    expect(first.body.next_after).toBe(EVENTS_SCAN_WINDOW);
    expect(
      first.body.data.every((e: { position: number }) => e.position <= EVENTS_SCAN_WINDOW),
    ).toBe(true);
    // The window after it holds nothing the test key may see: an empty page, and read on.
    const empty = await call(
      "GET",
      `/v1/events?after=${head - 1 - EVENTS_SCAN_WINDOW}&limit=1000`,
      { key: testKey },
    );
    expect(empty.body).toMatchObject({ data: [], has_more: true, next_after: head - 1 });

    const read = async (key: string) => {
      const seen: number[] = [];
      let after = 0;
      for (let page = 0; page < 100; page++) {
        const reply = await call("GET", `/v1/events?after=${after}&limit=1000`, { key });
        seen.push(...reply.body.data.map((e: { position: number }) => e.position));
        expect(reply.body.next_after).toBeGreaterThan(after);
        after = reply.body.next_after;
        if (!reply.body.has_more) break;
      }
      expect(after).toBe(head);
      return seen;
    };
    // Every event of the log but those of the other environment's keys, each once, in order.
    const environmentOf = new Map<string, string>();
    const all = kg.store.readAll({ limit: head });
    for (const e of all)
      if (e.type === "api_key.created") environmentOf.set(e.streamId, e.data.environment as string);
    const visibleTo = (environment: string) =>
      all
        .filter((e) => (environmentOf.get(e.streamId) ?? environment) === environment)
        .map((e) => e.position);
    const testSeen = await read(testKey);
    expect(testSeen).toEqual(visibleTo("test"));
    expect(testSeen.at(-1)).toBe(kg.store.readStream(late.id)[0]?.position as number);
    expect(await read(live)).toEqual(visibleTo("live"));
  });

  test("below the platform, what each entity and environment reads is what the log's streams say it may: entities, users, its environment's keys and results, in the whole subtree", async () => {
    const { call, kg, live, partner, other } = setup();
    const merchant = createEntity(
      kg,
      { kind: "merchant", name: "M", parentId: partner.id },
      TEST_ACTOR,
    );
    const branch = createEntity(
      kg,
      { kind: "branch", name: "B", parentId: merchant.id },
      TEST_ACTOR,
    );
    const entities = [partner.id, merchant.id, branch.id, other.id];
    const readers = new Map<string, string>();
    let n = 0;
    for (const entityId of entities) {
      for (const environment of ["live", "test"] as const) {
        const reader = createApiKey(
          kg,
          {
            entityId,
            environment,
            name: "r",
            scopes: ["events:read", "api_keys:write", "entities:write", "links:read"],
          },
          TEST_ACTOR,
        );
        readers.set(`${entityId}:${environment}`, reader.secret);
        // Results recorded for this entity and environment, and a key each with a life.
        const made = await call("POST", "/v1/api-keys", {
          key: reader.secret,
          headers: { "idempotency-key": `made-${n++}-abcdef` },
          body: { name: "k", scopes: ["links:read"] },
        });
        const rotated = await call("POST", `/v1/api-keys/${made.body.id}/rotate`, {
          key: reader.secret,
          headers: { "idempotency-key": `rotate-${n++}-abcdef` },
          body: {},
        });
        const revoked = await call("POST", `/v1/api-keys/${made.body.id}/revoke`, {
          key: reader.secret,
          body: {},
        });
        expect([made.status, rotated.status, revoked.status]).toEqual([200, 200, 200]);
      }
      await givenUser(kg, { email: `u${n++}@example.com`, password: "a long password", entityId });
    }
    // A dashboard user's result: for no API key to read.
    const email = `dash${n}@example.com`;
    await givenUser(kg, { email, password: "a long password", entityId: merchant.id });
    const token = (
      await call("POST", "/v1/auth/login", { body: { email, password: "a long password" } })
    ).body.token;
    const dashboard = await call("POST", "/v1/api-keys", {
      key: token,
      headers: { "idempotency-key": "dashboard-made-0001" },
      body: { name: "d", scopes: ["links:read"], environment: "live" },
    });
    const off = await call("POST", `/v1/entities/${branch.id}/deactivate`, { key: live, body: {} });
    const on = await call("POST", `/v1/entities/${branch.id}/reactivate`, { key: live, body: {} });
    expect([dashboard.status, off.status, on.status]).toEqual([200, 200, 200]);

    // What the log's streams say a subtree may read (the query /v1/events ran before 2026-11-24).
    const byStreams = (path: string, environment: string) =>
      kg.db.sql
        .prepare<{ position: number }>(
          `WITH subtree AS (SELECT id FROM entities WHERE path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/')
          SELECT position FROM events WHERE stream_id IN (
            SELECT id FROM subtree
            UNION ALL SELECT id FROM api_keys WHERE entity_id IN subtree AND environment = ?2
            UNION ALL SELECT id FROM users WHERE entity_id IN subtree
            UNION ALL SELECT st.stream_id FROM subtree s JOIN streams st
              ON st.stream_id >= 'idempotency:' || s.id || ':' || ?2 || ':'
              AND st.stream_id < 'idempotency:' || s.id || ':' || ?2 || ';')
          ORDER BY position`,
        )
        .all(path, environment)
        .map((r) => r.position);
    const read = async (key: string) => {
      const seen: number[] = [];
      for (let after = 0; ; ) {
        const page = await call("GET", `/v1/events?after=${after}&limit=7`, { key });
        seen.push(...page.body.data.map((e: { position: number }) => e.position));
        after = page.body.next_after;
        if (!page.body.has_more) return seen;
      }
    };
    for (const entityId of entities) {
      const path = kg.db.sql
        .prepare<{ path: string }>("SELECT path FROM entities WHERE id = ?")
        .get(entityId)?.path as string;
      for (const environment of ["live", "test"]) {
        const expected = byStreams(path, environment);
        expect(expected.length).toBeGreaterThan(5);
        expect(await read(readers.get(`${entityId}:${environment}`) as string)).toEqual(expected);
      }
    }
    // And the projection is what a replay of the log makes of it.
    const rebuilt = kg.db.sql
      .prepare<{ n: number }>("SELECT count(*) AS n FROM event_viewers")
      .get()?.n;
    rebuildProjections(
      kg.db.sql,
      allProjections(kg.db.sql).filter((p) => p.name === "event_viewers"),
    );
    expect(
      kg.db.sql.prepare<{ n: number }>("SELECT count(*) AS n FROM event_viewers").get()?.n,
    ).toBe(rebuilt as number);
  });

  test("after and limit are whole numbers in range; a bad one is 400 naming it", async () => {
    const { call, live } = setup();
    for (const [query, param] of [
      ["after=-1", "after"],
      ["after=1.5", "after"],
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=ten", "limit"],
    ] as const) {
      const reply = await call("GET", `/v1/events?${query}`, { key: live });
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        param,
      ]);
      expect(reply.body.error.message).toStartWith(param);
    }
  });

  test("a user's password hash never leaves the server", async () => {
    const { call, live, partner } = setup();
    await call("POST", "/v1/users", {
      key: live,
      body: { email: "x@y.co", password: "a passphrase here", entity_id: partner.id },
    });
    const events = await call("GET", "/v1/events?limit=1000", { key: live });
    const created = events.body.data.find((e: { type: string }) => e.type === "user.created");
    expect(created.data.password_hash).toBe("[redacted]");
    expect(JSON.stringify(events.body)).not.toContain("scrypt$");
  });
});

describe("POST /v1/keys/verify", () => {
  test("valid keys in the subtree and environment; every other outcome is a code, not an error", async () => {
    const { call, kg, partnerKey, partner, other } = setup();
    const inside = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "in", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const outside = createApiKey(
      kg,
      { entityId: other.id, environment: "live", name: "out", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const ok = await call("POST", "/v1/keys/verify", {
      key: partnerKey,
      body: { key: inside.secret, scopes: ["links:read"] },
    });
    expect(ok.body).toMatchObject({
      valid: true,
      code: "valid",
      rate_limit: { limit: 100, window_seconds: 1 },
      key: { id: inside.id },
      entity: { id: partner.id },
    });
    expect(JSON.stringify(ok.body)).not.toContain(inside.secret);
    const scope = await call("POST", "/v1/keys/verify", {
      key: partnerKey,
      body: { key: inside.secret, scopes: ["links:write"] },
    });
    expect(scope.body).toEqual({
      valid: false,
      code: "insufficient_scope",
      missing_scope: "links:write",
    });
    expect(
      (await call("POST", "/v1/keys/verify", { key: partnerKey, body: { key: outside.secret } }))
        .body,
    ).toEqual({ valid: false, code: "api_key_invalid" });
    expect(
      (await call("POST", "/v1/keys/verify", { key: partnerKey, body: { key: "sk_live_short" } }))
        .body.code,
    ).toBe("api_key_malformed");
    const noScope = createApiKey(
      kg,
      { entityId: partner.id, environment: "live", name: "n", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    expect(
      codeOf(
        await call("POST", "/v1/keys/verify", {
          key: noScope.secret,
          body: { key: inside.secret },
        }),
      ),
    ).toBe("insufficient_scope");
  });

  test("a key the caller may not see is api_key_invalid whatever its state: revoked or expired, it is not confirmed to exist", async () => {
    const { call, kg, partnerKey, partner, other } = setup();
    const make = (entityId: string, environment: "live" | "test", name: string) =>
      createApiKey(kg, { entityId, environment, name, scopes: ["links:read"] }, TEST_ACTOR);
    const outside = make(other.id, "live", "out");
    const otherEnvironment = make(partner.id, "test", "test");
    const inside = make(partner.id, "live", "in");
    for (const key of [outside, otherEnvironment, inside])
      revokeApiKey(kg, key.id, null, TEST_ACTOR);
    const verify = async (secret: string) =>
      (await call("POST", "/v1/keys/verify", { key: partnerKey, body: { key: secret } })).body;
    expect(await verify(outside.secret)).toEqual({ valid: false, code: "api_key_invalid" });
    expect(await verify(otherEnvironment.secret)).toEqual({
      valid: false,
      code: "api_key_invalid",
    });
    expect(await verify(inside.secret)).toEqual({ valid: false, code: "api_key_revoked" });
  });
});

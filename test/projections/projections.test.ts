import { afterEach, describe, expect, test } from "bun:test";
import type { KeygateEvent } from "../../events/index.ts";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, revokeApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity, reactivateEntity } from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { findApiKey, findEntity, listApiKeys } from "../../src/projections/queries.ts";
import {
  type ExpectedStreamVersion,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from "../../src/store/expected-version.ts";
import {
  FakeClock,
  givenUser,
  keygateErrorOf,
  TEST_ACTOR,
  testKeygate,
} from "../support/keygate.ts";

let kg: Keygate;
const clock = new FakeClock("2026-05-01T00:00:00.000Z");
afterEach(() => kg.close());

function tree() {
  kg = testKeygate({ clock });
  const init = initPlatform(kg, TEST_ACTOR);
  const root = init.entityId;
  const partner = createEntity(kg, { kind: "partner", name: "P", parentId: root }, TEST_ACTOR);
  const merchant = createEntity(
    kg,
    { kind: "merchant", name: "M", parentId: partner.id },
    TEST_ACTOR,
  );
  const branch = createEntity(kg, { kind: "branch", name: "B", parentId: merchant.id }, TEST_ACTOR);
  const other = createEntity(kg, { kind: "merchant", name: "Other", parentId: root }, TEST_ACTOR);
  return { root, partner, merchant, branch, other };
}

describe("entities projection", () => {
  test("paths run from the root", () => {
    const t = tree();
    expect(findEntity(kg.db, t.branch.id)?.path).toEqual([
      t.root,
      t.partner.id,
      t.merchant.id,
      t.branch.id,
    ]);
    expect(findEntity(kg.db, t.root)?.path).toEqual([t.root]);
  });

  test("deactivating an entity makes its whole subtree inactive, and nothing else", () => {
    const t = tree();
    deactivateEntity(kg, t.partner.id, null, TEST_ACTOR);
    for (const id of [t.partner.id, t.merchant.id, t.branch.id])
      expect(findEntity(kg.db, id)?.active).toBe(false);
    expect(findEntity(kg.db, t.other.id)?.active).toBe(true);
    expect(findEntity(kg.db, t.root)?.active).toBe(true);
  });

  test("reactivating restores the subtree except below another inactive entity", () => {
    const t = tree();
    deactivateEntity(kg, t.merchant.id, null, TEST_ACTOR);
    deactivateEntity(kg, t.partner.id, null, TEST_ACTOR);
    reactivateEntity(kg, t.partner.id, null, TEST_ACTOR);
    expect(findEntity(kg.db, t.partner.id)?.active).toBe(true);
    expect(findEntity(kg.db, t.merchant.id)?.active).toBe(false);
    expect(findEntity(kg.db, t.branch.id)?.active).toBe(false);
    reactivateEntity(kg, t.merchant.id, null, TEST_ACTOR);
    expect(findEntity(kg.db, t.branch.id)?.active).toBe(true);
  });

  test("a reference is unique among siblings only", () => {
    const t = tree();
    createEntity(
      kg,
      { kind: "branch", name: "B1", parentId: t.merchant.id, reference: "BR-001" },
      TEST_ACTOR,
    );
    expect(() =>
      createEntity(
        kg,
        { kind: "branch", name: "B2", parentId: t.merchant.id, reference: "BR-001" },
        TEST_ACTOR,
      ),
    ).toThrow(/already has reference "BR-001"/);
    const sibling = createEntity(
      kg,
      { kind: "branch", name: "B3", parentId: t.other.id, reference: "BR-001" },
      TEST_ACTOR,
    );
    expect(sibling.reference).toBe("BR-001");
  });

  test("a duplicate the decider could not see (another process committed it meanwhile) is 409, and writes nothing", () => {
    const t = tree();
    createEntity(
      kg,
      { kind: "branch", name: "B1", parentId: t.merchant.id, reference: "BR-001" },
      TEST_ACTOR,
    );
    const other = createEntity(
      kg,
      { kind: "branch", name: "B2", parentId: t.merchant.id, reference: "BR-002" },
      TEST_ACTOR,
    );
    const head = kg.store.headPosition();
    // The events a process that checked before the first commit would append: past the decider.
    const appended = (streamId: string, event: KeygateEvent, expected: ExpectedStreamVersion) =>
      keygateErrorOf(() =>
        kg.store.appendToStream(streamId, [event], {
          expectedStreamVersion: expected,
          metadata: TEST_ACTOR,
        }),
      );
    const created = appended(
      "ent_racer",
      {
        type: "entity.created",
        data: {
          entity_id: "ent_racer",
          kind: "branch",
          name: "B3",
          parent_id: t.merchant.id,
          reference: "BR-001",
        },
      },
      STREAM_DOES_NOT_EXIST,
    );
    const renamed = appended(
      other.id,
      { type: "entity.updated", data: { entity_id: other.id, reference: "BR-001" } },
      STREAM_EXISTS,
    );
    for (const error of [created, renamed]) {
      expect(error).toMatchObject({ code: "resource_conflict", param: "reference" });
      expect(error.message).toBe(
        'Another child of the same parent already has reference "BR-001".',
      );
    }
    expect(kg.store.headPosition()).toBe(head);
    expect(findEntity(kg.db, "ent_racer")).toBeUndefined();
  });

  test("a second platform entity (two processes running init at once) is 409, and writes nothing", () => {
    tree();
    const head = kg.store.headPosition();
    const error = keygateErrorOf(() =>
      kg.store.appendToStream(
        "ent_second",
        [
          {
            type: "entity.created",
            data: {
              entity_id: "ent_second",
              kind: "platform",
              name: "Platform",
              parent_id: null,
              reference: null,
            },
          },
        ],
        { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR },
      ),
    );
    expect(error).toMatchObject({
      code: "resource_conflict",
      message: "This deployment already has its platform entity.",
    });
    expect(kg.store.headPosition()).toBe(head);
  });
});

describe("users projection", () => {
  test("an email another process took meanwhile is 409, and writes nothing", async () => {
    const t = tree();
    const first = await givenUser(kg, {
      email: "ops@example.com",
      password: "correct horse battery",
      entityId: t.root,
    });
    const second = await givenUser(kg, {
      email: "dev@example.com",
      password: "correct horse battery",
      entityId: t.root,
    });
    const head = kg.store.headPosition();
    const events: [string, KeygateEvent][] = [
      [
        "usr_racer",
        {
          type: "user.created",
          data: {
            user_id: "usr_racer",
            entity_id: t.root,
            email: first.email,
            password_hash: "scrypt$racer",
          },
        },
      ],
      [second.id, { type: "user.email_changed", data: { user_id: second.id, email: first.email } }],
    ];
    for (const [streamId, event] of events) {
      const error = keygateErrorOf(() =>
        kg.store.appendToStream(streamId, [event], {
          expectedStreamVersion: NO_CONCURRENCY_CHECK,
          metadata: TEST_ACTOR,
        }),
      );
      expect(error).toMatchObject({
        code: "resource_conflict",
        param: "email",
        message: "A user with this email already exists.",
      });
    }
    expect(kg.store.headPosition()).toBe(head);
  });
});

describe("api_keys projection", () => {
  test("rotation keeps the id; an overlapping rotation keeps the previous secret until its expiry", () => {
    const t = tree();
    const key = createApiKey(
      kg,
      { entityId: t.merchant.id, environment: "live", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const rotated = rotateApiKey(kg, key.id, 600, TEST_ACTOR);
    expect(rotated.id).toBe(key.id);
    expect(rotated.secret).not.toBe(key.secret);
    expect(rotated.masked).toBe(`sk_live_••••${rotated.secret.slice(-4)}`);
    const secrets = kg.db.sql
      .prepare<{ expires_at: string | null }>(
        "SELECT expires_at FROM api_key_secrets WHERE key_id = ? ORDER BY expires_at",
      )
      .all(key.id)
      .map((r) => r.expires_at);
    expect(secrets).toEqual([null, new Date(clock.now().getTime() + 600_000).toISOString()]);

    // An immediate rotation now cuts every older secret short.
    rotateApiKey(kg, key.id, 0, TEST_ACTOR);
    const expiries = kg.db.sql
      .prepare<{ expires_at: string | null }>(
        "SELECT expires_at FROM api_key_secrets WHERE key_id = ? AND expires_at IS NOT NULL",
      )
      .all(key.id)
      .map((r) => r.expires_at);
    expect(expiries).toEqual([clock.now().toISOString(), clock.now().toISOString()]);
  });

  test("status: revoked, and expired once past expires_at", () => {
    const t = tree();
    const expiring = createApiKey(
      kg,
      {
        entityId: t.merchant.id,
        environment: "test",
        name: "k",
        scopes: ["links:read"],
        expiresAt: new Date(clock.now().getTime() + 60_000),
      },
      TEST_ACTOR,
    );
    expect(findApiKey(kg.db, expiring.id, clock.now())?.status).toBe("active");
    expect(findApiKey(kg.db, expiring.id, new Date(clock.now().getTime() + 61_000))).toMatchObject({
      status: "expired",
      active: false,
    });
    // The list filters agree with the derived status.
    const later = new Date(clock.now().getTime() + 61_000);
    const ids = (status: "active" | "revoked" | "expired", at: Date) =>
      listApiKeys(kg.db, { entityId: t.merchant.id, status }, at).map((k) => k.id);
    expect(ids("active", clock.now())).toEqual([expiring.id]);
    expect(ids("expired", later)).toEqual([expiring.id]);
    expect(ids("active", later)).toEqual([]);
    const revoked = revokeApiKey(kg, expiring.id, null, TEST_ACTOR);
    expect(ids("revoked", clock.now())).toEqual([expiring.id]);
    expect(ids("expired", later)).toEqual([]);
    expect(revoked).toMatchObject({
      status: "revoked",
      active: false,
      revoked_at: clock.now().toISOString(),
    });
  });

  test("list pages by id with a cursor and filters by entity", () => {
    const t = tree();
    for (let i = 0; i < 5; i++) {
      createApiKey(
        kg,
        { entityId: t.branch.id, environment: "test", name: `k${i}`, scopes: ["links:read"] },
        TEST_ACTOR,
      );
    }
    const first = listApiKeys(kg.db, { entityId: t.branch.id, limit: 3 }, clock.now());
    const rest = listApiKeys(
      kg.db,
      { entityId: t.branch.id, startingAfter: first.at(-1)?.id, limit: 3 },
      clock.now(),
    );
    expect(first).toHaveLength(3);
    expect(rest).toHaveLength(2);
    const ids = [...first, ...rest].map((k) => k.id);
    expect(ids).toEqual([...ids].sort());
    expect(listApiKeys(kg.db, {}, clock.now())).toHaveLength(7); // plus the two platform keys
  });
});

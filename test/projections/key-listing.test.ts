/**
 * Key and user listings (`GET /v1/api-keys`, `GET /v1/users`, the CLI's lists) read an index,
 * not every row: the rows a listing asks for can be few among many (the test keys on a live
 * platform, the revoked ones, one merchant's), and a listing that walked the whole table to find
 * them held the server for 0.3 s per million keys. What is asserted is SQLite's plan for each
 * kind of listing, which does not depend on how many rows the tables hold.
 */
import { describe, expect, test } from "bun:test";
import { createApiKey, revokeApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import {
  type KeyListFilter,
  keyListQuery,
  listApiKeys,
  userListQuery,
} from "../../src/projections/queries.ts";
import { partnerAndOutsider, TEST_ACTOR, testKeygate } from "../support/keygate.ts";

function setup() {
  const kg = testKeygate();
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const { partner } = partnerAndOutsider(kg, init.entityId);
  const key = (entityId: string, environment: "live" | "test", expiresAt: Date | null = null) =>
    createApiKey(
      kg,
      { entityId, environment, name: "k", scopes: ["links:read"], expiresAt },
      TEST_ACTOR,
    ).id;
  const soon = new Date(kg.now().getTime() + 1000);
  const keys = {
    live: key(init.entityId, "live"),
    partnerLive: key(partner.id, "live"),
    partnerTest: key(partner.id, "test"),
    expiring: key(partner.id, "live", soon),
    revoked: key(partner.id, "test"),
  };
  revokeApiKey(kg, keys.revoked, null, TEST_ACTOR);
  const platformPath = [init.entityId];
  const partnerPath = [init.entityId, partner.id];
  return { kg, keys, platformPath, partnerPath, partner, soon };
}

describe("key listings", () => {
  test("each kind of listing reads an index: none scans the keys table, and the platform's need no sort", () => {
    const { kg, platformPath, partnerPath, partner } = setup();
    const planOf = (filter: KeyListFilter) => planLines(kg, keyListQuery(kg.db, filter, kg.now()));
    // The index each of the platform's listings reads: a range holding just the keys asked for.
    const indexFor = {
      all: "api_keys_environment",
      active: "api_keys_environment_status",
      revoked: "api_keys_environment_status",
      expired: "api_keys_expiring",
    } as const;
    const statuses = [undefined, "active", "revoked", "expired"] as const;
    for (const environment of ["live", "test"] as const) {
      for (const status of statuses) {
        const platform = planOf({ subtreePath: platformPath, environment, status, limit: 11 });
        expect(platform.filter((d) => /^SCAN api_keys\b/.test(d))).toEqual([]);
        expect(platform).not.toContain("USE TEMP B-TREE FOR ORDER BY");
        expect(platform.join("\n")).toContain(`USING INDEX ${indexFor[status ?? "all"]} (`);
        // The platform's subtree is every entity: nothing to look up.
        expect(platform.filter((d) => d.includes("entities"))).toEqual([]);
        const paged = planOf({
          subtreePath: platformPath,
          environment,
          status,
          startingAfter: "key_a",
        });
        expect(paged.filter((d) => /^SCAN api_keys\b/.test(d))).toEqual([]);
        for (const filter of [
          { subtreePath: partnerPath, environment, status },
          { subtreePath: platformPath, environment, status, entityId: partner.id },
        ]) {
          const below = planOf(filter);
          expect(below.filter((d) => /^SCAN (api_keys|entities)\b/.test(d))).toEqual([]);
          expect(below.some((d) => d.includes("api_keys_entity"))).toBe(true);
        }
      }
    }
  });

  test("a subtree's users are found through the entity index; the platform's listing looks up no entity", () => {
    const { kg, platformPath, partnerPath, partner } = setup();
    const planOf = (query: ReturnType<typeof userListQuery>) => planLines(kg, query);
    for (const filter of [
      { subtreePath: partnerPath, limit: 11 },
      { subtreePath: platformPath, entityId: partner.id, limit: 11 },
    ]) {
      const below = planOf(userListQuery(kg.db, filter));
      expect(below.filter((d) => /^SCAN (users|entities)\b/.test(d))).toEqual([]);
      expect(below.some((d) => d.includes("users_entity"))).toBe(true);
    }
    const platform = planOf(userListQuery(kg.db, { subtreePath: platformPath, limit: 11 }));
    expect(platform.filter((d) => d.includes("entities"))).toEqual([]);
  });

  test("the listings find the same keys as before the indexes: environment, status, subtree, entity, expiry", () => {
    const { kg, keys, platformPath, partnerPath, partner, soon } = setup();
    const ids = (filter: KeyListFilter, at = kg.now()) =>
      listApiKeys(kg.db, filter, at).map((k) => k.id);
    const sorted = (...list: string[]) => [...list].sort();
    const platform = (extra: Partial<KeyListFilter>) => ({ subtreePath: platformPath, ...extra });
    expect(ids(platform({ environment: "test" }))).toEqual(
      sorted(keys.partnerTest, keys.revoked, ...testPlatformKeys(kg)),
    );
    expect(ids(platform({ environment: "test", status: "revoked" }))).toEqual([keys.revoked]);
    expect(ids(platform({ environment: "live", status: "revoked" }))).toEqual([]);
    expect(ids(platform({ environment: "live", status: "expired" }))).toEqual([]);
    const later = new Date(soon.getTime() + 1);
    expect(ids(platform({ environment: "live", status: "expired" }), later)).toEqual([
      keys.expiring,
    ]);
    expect(ids(platform({ environment: "live", status: "active" }), later)).not.toContain(
      keys.expiring,
    );
    expect(ids({ subtreePath: partnerPath, environment: "live" })).toEqual(
      sorted(keys.partnerLive, keys.expiring),
    );
    expect(ids({ subtreePath: partnerPath, environment: "test", status: "active" })).toEqual([
      keys.partnerTest,
    ]);
    expect(ids(platform({ environment: "live", entityId: partner.id }))).toEqual(
      sorted(keys.partnerLive, keys.expiring),
    );
    expect(ids(platform({ environment: "live" }))).toContain(keys.live);
  });
});

/** SQLite's plan for a query built but not run, one line per step. */
function planLines(
  kg: ReturnType<typeof setup>["kg"],
  query: { toSQL(): { sql: string; params: unknown[] } },
): string[] {
  const { sql, params } = query.toSQL();
  return kg.db.sql
    .prepare<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...(params as (string | number)[]))
    .map((row) => row.detail);
}

/** The platform's own test key (made by init). */
function testPlatformKeys(kg: ReturnType<typeof setup>["kg"]): string[] {
  return kg.db.sql
    .prepare<{ id: string }>(
      "SELECT id FROM api_keys WHERE environment = 'test' AND name = 'platform test'",
    )
    .all()
    .map((r) => r.id);
}

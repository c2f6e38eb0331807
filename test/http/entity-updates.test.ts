import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

/** A partner with two merchants (one referenced M-1), a key of the first merchant, a read-only key. */
function setup() {
  const t = openTestApp();
  const entity = (kind: "partner" | "merchant", parentId: string, reference: string | null) =>
    createEntity(t.kg, { kind, name: `${kind} ${reference}`, parentId, reference }, TEST_ACTOR);
  const partner = entity("partner", t.platform, null);
  const merchant = entity("merchant", partner.id, "M-1");
  const sibling = entity("merchant", partner.id, "M-2");
  const keyAt = (entityId: string, scopes: string[]) =>
    createApiKey(t.kg, { entityId, environment: "live", name: "k", scopes }, TEST_ACTOR).secret;
  return {
    ...t,
    partner,
    merchant,
    sibling,
    partnerKey: keyAt(partner.id, ["entities:write", "entities:read"]),
    merchantKey: keyAt(merchant.id, ["entities:write"]),
    reader: keyAt(partner.id, ["entities:read"]),
  };
}

describe("PATCH /v1/entities/{id}", () => {
  test("renames and re-references an entity; its keys see the new name on their next request", async () => {
    const { call, kg, merchant, partnerKey, merchantKey } = setup();
    expect((await call("GET", "/v1/me", { key: merchantKey })).body.entity.name).toBe(
      "merchant M-1",
    );

    const renamed = await call("PATCH", `/v1/entities/${merchant.id}`, {
      key: partnerKey,
      body: { name: " Acme Retail ", reference: "BR-001" },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...merchant, name: "Acme Retail", reference: "BR-001" });
    // The key lookup is cached in memory: the rename must reach it at once.
    expect((await call("GET", "/v1/me", { key: merchantKey })).body.entity).toEqual(renamed.body);

    const event = kg.store.readStream(merchant.id).at(-1);
    expect(event).toMatchObject({
      type: "entity.updated",
      data: { entity_id: merchant.id, name: "Acme Retail", reference: "BR-001" },
    });
    expect(event?.metadata.actor).toMatch(/^key_/);

    // Only what changed is recorded; `reference: null` removes it.
    const cleared = await call("PATCH", `/v1/entities/${merchant.id}`, {
      key: merchantKey,
      body: { name: "Acme Retail", reference: null },
    });
    expect(cleared.body.reference).toBeNull();
    expect(kg.store.readStream(merchant.id).at(-1)?.data).toEqual({
      entity_id: merchant.id,
      reference: null,
    });
  });

  test("the same values, or an empty body, change nothing and append nothing", async () => {
    const { call, kg, merchant, partnerKey } = setup();
    const head = kg.store.headPosition();
    for (const body of [{}, { name: merchant.name, reference: "M-1" }]) {
      const same = await call("PATCH", `/v1/entities/${merchant.id}`, { key: partnerKey, body });
      expect([same.status, same.body]).toEqual([200, merchant]);
    }
    expect(kg.store.headPosition()).toBe(head);
  });

  test("a reference is unique among siblings: taken is 409, freed it can be taken", async () => {
    const { call, merchant, sibling, partnerKey } = setup();
    const patch = (id: string, body: object) =>
      call("PATCH", `/v1/entities/${id}`, { key: partnerKey, body });
    const taken = await patch(sibling.id, { reference: "M-1" });
    expect([taken.status, codeOf(taken), taken.body.error.param]).toEqual([
      409,
      "resource_conflict",
      "reference",
    ]);
    expect((await patch(merchant.id, { reference: "M-9" })).status).toBe(200);
    const freed = await patch(sibling.id, { reference: "M-1" });
    expect([freed.status, freed.body.reference]).toEqual([200, "M-1"]);
  });

  test("refusals append nothing: outside the subtree, read-only key, unknown or fixed fields, bad values, missing entity", async () => {
    const { call, kg, partner, merchant, sibling, merchantKey, reader, partnerKey } = setup();
    const head = kg.store.headPosition();
    const cases: [string, string, object, number, string][] = [
      [merchantKey, partner.id, { name: "Mine now" }, 403, "entity_forbidden"],
      [merchantKey, sibling.id, { name: "Mine now" }, 403, "entity_forbidden"],
      [reader, merchant.id, { name: "x" }, 403, "insufficient_scope"],
      [partnerKey, merchant.id, { parent_id: sibling.id }, 400, "invalid_request"],
      [partnerKey, merchant.id, { kind: "branch" }, 400, "invalid_request"],
      [partnerKey, merchant.id, { name: "" }, 400, "invalid_request"],
      [partnerKey, merchant.id, { name: "   " }, 400, "invalid_request"],
      [partnerKey, merchant.id, { reference: 7 }, 400, "invalid_request"],
      [partnerKey, merchant.id, { reference: "r".repeat(101) }, 400, "invalid_request"],
      [partnerKey, "ent_missing", { name: "x" }, 404, "resource_missing"],
    ];
    for (const [key, id, body, status, code] of cases) {
      const reply = await call("PATCH", `/v1/entities/${id}`, { key, body });
      expect([JSON.stringify(body), reply.status, codeOf(reply)]).toEqual([
        JSON.stringify(body),
        status,
        code,
      ]);
    }
    expect(kg.store.headPosition()).toBe(head);
  });
});

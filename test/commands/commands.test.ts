import { afterEach, describe, expect, test } from "bun:test";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, rotateApiKey, updateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity } from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { listApiKeys } from "../../src/projections/queries.ts";
import {
  FakeClock,
  givenUser,
  keygateErrorOf,
  TEST_ACTOR,
  testKeygate,
} from "../support/keygate.ts";

let kg: Keygate;
afterEach(() => kg.close());

const codeOf = (fn: () => unknown): string => keygateErrorOf(fn).code;

function platform(): string {
  kg = testKeygate({ clock: new FakeClock() });
  const init = initPlatform(kg, TEST_ACTOR);
  return init.entityId;
}

describe("command handlers", () => {
  test("init is idempotent and writes nothing the second time", () => {
    const root = platform();
    const head = kg.store.headPosition();
    expect(head).toBe(3); // the platform entity and its two keys
    expect(initPlatform(kg, TEST_ACTOR)).toEqual({ created: false, entityId: root });
    expect(kg.store.headPosition()).toBe(head);
  });

  test("init makes the platform keys the configured schemes can use: pairs where HTTP Basic is the only one", () => {
    const basicOnly = { auth: { bearer: false, api_key_header: false } };
    for (const [config, kind] of [
      [{}, "secret"],
      [{ auth: { bearer: false } }, "secret"],
      [basicOnly, "pair"],
    ] as const) {
      kg = testKeygate({ clock: new FakeClock(), config });
      const init = initPlatform(kg, TEST_ACTOR);
      if (!init.created) throw new Error("expected a fresh database");
      const keys = listApiKeys(kg.db, { entityId: init.entityId }, kg.now());
      expect(keys.map((k) => k.kind)).toEqual([kind, kind]);
      const publicKey = (livemode: boolean) =>
        keys.find((k) => k.livemode === livemode)?.public_key;
      expect(init.publicKeys as unknown).toEqual(
        kind === "pair" ? { live: publicKey(true), test: publicKey(false) } : null,
      );
      kg.close();
    }
    kg = testKeygate({ clock: new FakeClock(), config: basicOnly });
    const root = initPlatform(kg, TEST_ACTOR).entityId;
    const input = { entityId: root, environment: "live" as const, name: "k", scopes: ["*"] };
    expect(createApiKey(kg, input, TEST_ACTOR).kind).toBe("pair");
    expect(createApiKey(kg, { ...input, kind: "secret" }, TEST_ACTOR).kind).toBe("secret");
  });

  test("no key is issued for an inactive entity, and none under a missing one", () => {
    const root = platform();
    const merchant = createEntity(kg, { kind: "merchant", name: "M", parentId: root }, TEST_ACTOR);
    deactivateEntity(kg, merchant.id, null, TEST_ACTOR);
    const input = {
      entityId: merchant.id,
      environment: "live" as const,
      name: "k",
      scopes: ["links:read"],
    };
    expect(codeOf(() => createApiKey(kg, input, TEST_ACTOR))).toBe("invalid_request");
    expect(codeOf(() => createApiKey(kg, { ...input, entityId: "ent_missing" }, TEST_ACTOR))).toBe(
      "resource_missing",
    );
  });

  test("an update that changes nothing appends nothing", () => {
    const root = platform();
    const key = createApiKey(
      kg,
      { entityId: root, environment: "test", name: "k", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const head = kg.store.headPosition();
    const same = updateApiKey(kg, key.id, { name: "k", scopes: ["links:read"] }, TEST_ACTOR);
    expect(kg.store.headPosition()).toBe(head);
    expect(same.name).toBe("k");
    const renamed = updateApiKey(
      kg,
      key.id,
      { name: "renamed", rateLimit: { limit: 5, window_seconds: 1 } },
      TEST_ACTOR,
    );
    expect(renamed).toMatchObject({ name: "renamed", rate_limit: { limit: 5, window_seconds: 1 } });
    expect(kg.store.readStream(key.id).map((e) => e.type)).toEqual([
      "api_key.created",
      "api_key.updated",
    ]);
  });

  test("rotating a key pair keeps its id and public key, changes its secret", () => {
    const root = platform();
    const pair = createApiKey(
      kg,
      { entityId: root, environment: "live", name: "p", scopes: ["*"], kind: "pair" },
      TEST_ACTOR,
    );
    expect(pair.public_key).toMatch(/^pk_live_[0-9A-Za-z]{32}$/);
    expect(pair.secret).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    const rotated = rotateApiKey(kg, pair.id, 0, TEST_ACTOR);
    expect(rotated).toMatchObject({ id: pair.id, public_key: pair.public_key, kind: "pair" });
    expect(rotated.secret).not.toBe(pair.secret);
    expect(codeOf(() => rotateApiKey(kg, "key_missing", 0, TEST_ACTOR))).toBe("resource_missing");
  });

  test("users: one per email (case-insensitive), a known entity, a long enough password", async () => {
    const root = platform();
    const input = { email: "Ops@Example.com", password: "long enough password", entityId: root };
    const user = await givenUser(kg, input);
    expect(user).toEqual({
      object: "user",
      id: user.id,
      email: "ops@example.com",
      entity_id: root,
      active: true,
      password_changed_at: null,
      created_at: kg.now().toISOString(),
    });
    const refused = (changes: Partial<typeof input>) => givenUser(kg, { ...input, ...changes });
    await expect(refused({ email: "OPS@example.com" })).rejects.toMatchObject({
      code: "resource_conflict",
    });
    await expect(refused({ entityId: "ent_x" })).rejects.toMatchObject({
      code: "resource_missing",
    });
    await expect(refused({ email: "b@c.de", password: "short" })).rejects.toMatchObject({
      code: "invalid_request",
    });
  });

  test("every event records who caused it", () => {
    const root = platform();
    createEntity(
      kg,
      { kind: "partner", name: "P", parentId: root },
      { actor: "key_abc", request_id: "req_1" },
    );
    expect(kg.store.readAll().at(-1)?.metadata).toEqual({ actor: "key_abc", request_id: "req_1" });
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, revokeApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity } from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { hashSecretKey } from "../../src/keys/secret-hash.ts";
import { KeyIndex } from "../../src/projections/key-index.ts";
import { FakeClock, TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";

const open: Keygate[] = [];
function start(path?: string): Keygate {
  const kg = testKeygate({ clock: new FakeClock(), ...(path ? { path } : {}) });
  open.push(kg);
  return kg;
}
afterEach(() => {
  for (const kg of open.splice(0)) kg.close();
});

function merchantKey(kg: Keygate) {
  const { entityId } = initPlatform(kg, TEST_ACTOR);
  const merchant = createEntity(
    kg,
    { kind: "merchant", name: "M", parentId: entityId },
    TEST_ACTOR,
  );
  const key = createApiKey(
    kg,
    { entityId: merchant.id, environment: "live", name: "k", scopes: ["links:read"] },
    TEST_ACTOR,
  );
  return { merchant, key };
}

describe("key index", () => {
  test("finds a key by its secret hash and agrees with the tables", () => {
    const kg = start();
    const { merchant, key } = merchantKey(kg);
    const match = kg.keyIndex.bySecretHash(hashSecretKey(key.secret));
    expect(match?.key).toMatchObject({
      id: key.id,
      environment: "live",
      scopes: ["links:read"],
      status: "active",
    });
    expect(match?.key.entity).toMatchObject({
      id: merchant.id,
      path: merchant.path,
      active: true,
      kind: "merchant",
    });
    expect(kg.keyIndex.bySecretHash(hashSecretKey(`${key.secret}x`))).toBeUndefined();
  });

  test("serves repeated lookups from memory, without SQLite", () => {
    const kg = start();
    const { key } = merchantKey(kg);
    const hash = hashSecretKey(key.secret);
    kg.keyIndex.bySecretHash(hash);
    kg.db.sql.exec("DROP TABLE api_key_secrets"); // any query would now fail
    expect(kg.keyIndex.bySecretHash(hash)?.key.id).toBe(key.id);
  });

  test("the cached lookups answer from memory only: nothing before a lookup, the match after", () => {
    const kg = start();
    const { key } = merchantKey(kg);
    const hash = hashSecretKey(key.secret);
    expect(kg.keyIndex.cachedBySecretHash(hash)).toBeUndefined();
    kg.keyIndex.bySecretHash(hash);
    kg.db.sql.exec("DROP TABLE api_key_secrets"); // any query would now fail
    expect(kg.keyIndex.cachedBySecretHash(hash)?.key.id).toBe(key.id);
    revokeApiKey(kg, key.id, null, TEST_ACTOR);
    expect(kg.keyIndex.cachedBySecretHash(hash)).toBeUndefined(); // dropped by the revocation
  });

  test("a revoke is seen on the very next lookup", () => {
    const kg = start();
    const { key } = merchantKey(kg);
    const hash = hashSecretKey(key.secret);
    expect(kg.keyIndex.bySecretHash(hash)?.key.status).toBe("active");
    revokeApiKey(kg, key.id, null, TEST_ACTOR);
    expect(kg.keyIndex.bySecretHash(hash)?.key.status).toBe("revoked");
  });

  test("a rotation is seen at once: the old secret carries its expiry, the new one resolves", () => {
    const kg = start();
    const { key } = merchantKey(kg);
    kg.keyIndex.bySecretHash(hashSecretKey(key.secret));
    const rotated = rotateApiKey(kg, key.id, 0, TEST_ACTOR);
    expect(
      kg.keyIndex.bySecretHash(hashSecretKey(key.secret))?.secrets[0]?.expiresAt,
    ).not.toBeNull();
    expect(kg.keyIndex.bySecretHash(hashSecretKey(rotated.secret))?.key.id).toBe(key.id);
  });

  test("deactivating an ancestor is seen at once", () => {
    const kg = start();
    const { merchant, key } = merchantKey(kg);
    const hash = hashSecretKey(key.secret);
    expect(kg.keyIndex.bySecretHash(hash)?.key.entity.active).toBe(true);
    deactivateEntity(kg, merchant.id, null, TEST_ACTOR);
    expect(kg.keyIndex.bySecretHash(hash)?.key.entity.active).toBe(false);
  });

  test("key pairs are found by public key with every secret they have had", () => {
    const kg = start();
    const { entityId } = initPlatform(kg, TEST_ACTOR);
    const pair = createApiKey(
      kg,
      { entityId, environment: "test", name: "p", scopes: ["*"], kind: "pair" },
      TEST_ACTOR,
    );
    rotateApiKey(kg, pair.id, 60, TEST_ACTOR);
    const match = kg.keyIndex.byPublicKey(pair.public_key as string);
    expect(match?.key.kind).toBe("pair");
    expect(match?.secrets).toHaveLength(2);
    expect(match?.secrets.every((s) => s.salt?.length === 32)).toBe(true);
    expect(kg.keyIndex.cachedByPublicKey(pair.public_key as string)).toBe(match);
  });

  /**
   * A server whose index holds a merchant's key, and the CLI on the same file: `steps` acts on
   * them, then the server's sync() must show the key revoked.
   */
  async function revokedByTheCli(
    steps: (s: {
      server: Keygate;
      cli: Keygate;
      keyId: string;
      merchantId: string;
    }) => void | Promise<void>,
  ) {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "kg.sqlite");
      const server = start(path);
      const { key, merchant } = merchantKey(server);
      const hash = hashSecretKey(key.secret);
      expect(server.keyIndex.bySecretHash(hash)?.key.status).toBe("active");
      await steps({ server, cli: start(path), keyId: key.id, merchantId: merchant.id });
      server.keyIndex.sync();
      expect(server.keyIndex.bySecretHash(hash)?.key.status).toBe("revoked");
    } finally {
      for (const kg of open.splice(0)) kg.close();
      remove();
    }
  }

  test("commits by another connection (the CLI) are seen after sync()", () =>
    revokedByTheCli(({ cli, keyId }) => {
      revokeApiKey(cli, keyId, null, TEST_ACTOR);
    }));

  test("another connection's commit is seen though this one appended after it, before the next sync()", () =>
    // The server's own appends moved the position sync() reads from past the CLI's revoke,
    // which it then never read: the revoked key kept working for as long as it stayed cached.
    revokedByTheCli(({ server, cli, keyId, merchantId }) => {
      revokeApiKey(cli, keyId, null, TEST_ACTOR);
      createApiKey(
        server,
        { entityId: merchantId, environment: "live", name: "later", scopes: ["links:read"] },
        TEST_ACTOR,
      );
    }));

  test("events a rolled-back unit appended do not move the mark: another connection's commit at their position is still read", () =>
    // Told of them, the index would take their positions as seen; the CLI's revoke, committed
    // next at the first of those positions, would then never be read by sync().
    revokedByTheCli(async ({ server, cli, keyId, merchantId }) => {
      await expect(
        server.store.atomicallyGrouped(() => {
          createApiKey(
            server,
            { entityId: merchantId, environment: "live", name: "undone", scopes: ["links:read"] },
            TEST_ACTOR,
          );
          throw new Error("the answer could not be recorded");
        }),
      ).rejects.toThrow();
      revokeApiKey(cli, keyId, null, TEST_ACTOR);
    }));

  test("holds at most maxEntries, dropping the least recently used", () => {
    const kg = start();
    const { entityId } = initPlatform(kg, TEST_ACTOR);
    const index = new KeyIndex(kg.db.sql, kg.store, { maxEntries: 3 });
    const keys = Array.from({ length: 5 }, (_, i) =>
      createApiKey(kg, { entityId, environment: "live", name: `k${i}`, scopes: ["*"] }, TEST_ACTOR),
    );
    for (const k of keys) index.bySecretHash(hashSecretKey(k.secret));
    expect(index.size).toBe(3);
  });
});

/**
 * Random histories checked against a reference model. Each run drives seeded random commands
 * (entities created, deactivated and reactivated by callers at different heights; keys and
 * pairs created, updated, rotated with and without overlap, revoked; the clock moved) through
 * two Keygate instances on one file — a server and, say, the CLI beside it. After every step,
 * every secret ever issued is verified through three indexes: the writer's own, the other
 * connection's (after its sync), and a four-entry index that keeps evicting. Each must give
 * exactly what the model says: valid (with the key's scopes, its entity's name, and whether
 * the secret is a retired one), revoked, expired or entity inactive. At the end, a fresh
 * connection agrees too, a rebuild changes no row, and the chain verifies.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Keygate } from "../../src/app/keygate.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { verifyKeyPair, verifySecretKey } from "../../src/auth/verify-key.ts";
import {
  createApiKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from "../../src/commands/api-keys.ts";
import {
  createEntity,
  deactivateEntity,
  reactivateEntity,
  updateEntity,
} from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import type { EntityKind } from "../../src/entities/entity.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { KeyIndex } from "../../src/projections/key-index.ts";
import { allProjections, rebuildProjections } from "../../src/projections/rebuild.ts";
import { PARENT_KINDS } from "../support/grant-rules.ts";
import { dumpProjections } from "../support/history.ts";
import { FakeClock, TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";
import { seededRandom } from "../support/random.ts";

interface ModelEntity {
  id: string;
  kind: EntityKind;
  name: string;
  /** Root first, the entity itself last. */
  path: string[];
  active: boolean;
  deactivatedBy: string | null;
}

interface ModelSecret {
  secret: string;
  expiresAtMs: number | null;
}

interface ModelKey {
  id: string;
  kind: "secret" | "pair";
  publicKey: string | null;
  entityId: string;
  scopes: string[];
  revoked: boolean;
  expiresAtMs: number | null;
  secrets: ModelSecret[];
}

/** What verifying one secret must give: a refusal code, or the facts a valid key carries. */
type Expected =
  | { code: string }
  | { code: "valid"; scopes: string[]; entityName: string; retired: boolean };

const SCOPES = ["links:read", "links:write", "sessions:*", "api_keys:read", "*"];

/** The model: entities, keys, and what each command does or refuses, by the SPEC's rules. */
class Model {
  readonly entities = new Map<string, ModelEntity>();
  readonly keys = new Map<string, ModelKey>();

  effectiveActive(entityId: string): boolean {
    const entity = this.entities.get(entityId) as ModelEntity;
    return entity.path.every((id) => this.entities.get(id)?.active);
  }

  /** How high `by` stands on `path`: 0 at the root, where the operator (null) stands. */
  static depth(by: string | null, path: readonly string[]): number {
    return by === null ? 0 : path.indexOf(by);
  }

  expected(key: ModelKey, secret: ModelSecret, nowMs: number): Expected {
    const entity = this.entities.get(key.entityId) as ModelEntity;
    if (key.revoked) return { code: "api_key_revoked" };
    if (secret.expiresAtMs !== null && secret.expiresAtMs <= nowMs)
      return { code: "api_key_revoked" };
    if (key.expiresAtMs !== null && key.expiresAtMs <= nowMs) return { code: "api_key_expired" };
    if (!this.effectiveActive(entity.id)) return { code: "entity_inactive" };
    return {
      code: "valid",
      scopes: [...new Set(key.scopes)].sort(),
      entityName: entity.name,
      retired: secret.expiresAtMs !== null,
    };
  }
}

/** What a verification gave, in the model's terms. */
function observed(
  kg: Keygate,
  index: KeyIndex,
  key: ModelKey,
  secret: ModelSecret,
  now: Date,
): Expected {
  const result =
    key.kind === "secret"
      ? verifySecretKey(index, kg.config.keys, secret.secret, now)
      : verifyKeyPair(index, kg.config.keys, key.publicKey as string, secret.secret, now);
  if (!result.ok) return { code: result.code };
  return {
    code: "valid",
    scopes: [...result.key.scopes].sort(),
    entityName: result.key.entity.name,
    retired: result.retiredSecret,
  };
}

/** The error code a command threw, or "ok". */
function outcome(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    if (error instanceof KeygateError) return error.code;
    throw error;
  }
}

const STEPS = 160;
const SEEDS = [1, 2, 3, 4, 5, 6];

let open: Keygate[] = [];
let cleanup: (() => void) | undefined;
afterEach(() => {
  for (const kg of open) kg.close();
  open = [];
  cleanup?.();
  cleanup = undefined;
});

describe("verification against a reference model", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: ${STEPS} random commands on two connections; every secret verifies as the model says`, () => {
      const { dir, remove } = tempDir();
      cleanup = remove;
      const path = join(dir, "kg.sqlite");
      const clock = new FakeClock();
      // Even seeds hash with a pepper (HMAC-SHA-256), odd ones without.
      const env: Record<string, string> =
        seed % 2 === 0 ? { KEYGATE_PEPPER: "model-test-pepper" } : {};
      const writer = testKeygate({ path, clock, env });
      const other = testKeygate({ path, clock, env });
      open = [writer, other];
      const evicting = new KeyIndex(writer.db.sql, writer.store, { maxEntries: 4 });
      const rng = seededRandom(seed);
      const model = new Model();

      const init = initPlatform(writer, TEST_ACTOR);
      if (!init.created) throw new Error("expected a fresh database");
      const platformName = writer.db.sql
        .prepare<{ name: string }>("SELECT name FROM entities WHERE id = ?")
        .get(init.entityId)?.name as string;
      model.entities.set(init.entityId, {
        id: init.entityId,
        kind: "platform",
        name: platformName,
        path: [init.entityId],
        active: true,
        deactivatedBy: null,
      });

      const entities = () => [...model.entities.values()];
      const keys = () => [...model.keys.values()];
      const nowMs = () => clock.now().getTime();

      const steps: Record<string, (kg: Keygate) => { expected: string; actual: string }> = {
        createEntity(kg) {
          const kind = rng.pick<EntityKind>(["partner", "merchant", "branch", "branch"]);
          // Mostly under a parent of a kind it may have; now and then under any, to be refused.
          const fitting = entities().filter((e) => PARENT_KINDS[kind].includes(e.kind));
          const parent = rng.pick(fitting.length > 0 && rng.chance(0.7) ? fitting : entities());
          const name = `${kind} ${model.entities.size}`;
          const allowed = PARENT_KINDS[kind].includes(parent.kind);
          const expected = !allowed
            ? "invalid_request"
            : !model.effectiveActive(parent.id)
              ? "invalid_request"
              : "ok";
          let created: { id: string } | undefined;
          const actual = outcome(() => {
            created = createEntity(kg, { kind, name, parentId: parent.id }, TEST_ACTOR);
          });
          if (created) {
            model.entities.set(created.id, {
              id: created.id,
              kind,
              name,
              path: [...parent.path, created.id],
              active: true,
              deactivatedBy: null,
            });
          }
          return { expected, actual };
        },
        renameEntity(kg) {
          const entity = rng.pick(entities());
          const name = `${entity.kind} renamed ${rng.int(1000)}`;
          const actual = outcome(() => updateEntity(kg, entity.id, { name }, TEST_ACTOR));
          if (actual === "ok") entity.name = name;
          return { expected: "ok", actual };
        },
        deactivateEntity(kg) {
          const entity = rng.pick(entities());
          const by = rng.chance(0.3) ? null : rng.pick(entity.path);
          let expected = "ok";
          if (entity.kind === "platform") expected = "invalid_request";
          const actual = outcome(() => deactivateEntity(kg, entity.id, by, TEST_ACTOR));
          if (expected === "ok") {
            const depthOfLock = Model.depth(entity.deactivatedBy, entity.path);
            const stays = !entity.active && Model.depth(by, entity.path) >= depthOfLock;
            if (!stays) {
              entity.active = false;
              entity.deactivatedBy = by;
            }
          }
          return { expected, actual };
        },
        reactivateEntity(kg) {
          const entity = rng.pick(entities());
          const by = rng.chance(0.3) ? null : rng.pick(entity.path);
          let expected = "ok";
          if (!entity.active) {
            if (Model.depth(by, entity.path) > Model.depth(entity.deactivatedBy, entity.path))
              expected = "entity_forbidden";
          }
          const actual = outcome(() => reactivateEntity(kg, entity.id, by, TEST_ACTOR));
          if (expected === "ok") {
            entity.active = true;
            entity.deactivatedBy = null;
          }
          return { expected, actual };
        },
        createKey(kg) {
          const entity = rng.pick(entities());
          const kind = rng.chance(0.35) ? "pair" : "secret";
          const scopes = [rng.pick(SCOPES), rng.pick(SCOPES)];
          const expiresAt = rng.chance(0.3) ? new Date(nowMs() + (1 + rng.int(300)) * 1000) : null;
          const expected = model.effectiveActive(entity.id) ? "ok" : "invalid_request";
          let created: { id: string; secret: string; public_key: string | null } | undefined;
          const actual = outcome(() => {
            created = createApiKey(
              kg,
              {
                entityId: entity.id,
                environment: rng.chance(0.5) ? "live" : "test",
                name: `key ${model.keys.size}`,
                scopes,
                kind,
                expiresAt,
              },
              TEST_ACTOR,
            );
          });
          if (created) {
            model.keys.set(created.id, {
              id: created.id,
              kind,
              publicKey: created.public_key,
              entityId: entity.id,
              scopes,
              revoked: false,
              expiresAtMs: expiresAt?.getTime() ?? null,
              secrets: [{ secret: created.secret, expiresAtMs: null }],
            });
          }
          return { expected, actual };
        },
        updateKeyScopes(kg) {
          if (model.keys.size === 0) return { expected: "ok", actual: "ok" };
          const key = rng.pick(keys());
          const scopes = [rng.pick(SCOPES)];
          const expected = key.revoked ? "invalid_request" : "ok";
          const actual = outcome(() => updateApiKey(kg, key.id, { scopes }, TEST_ACTOR));
          if (expected === "ok") key.scopes = scopes;
          return { expected, actual };
        },
        rotateKey(kg) {
          if (model.keys.size === 0) return { expected: "ok", actual: "ok" };
          const key = rng.pick(keys());
          const overlap = rng.chance(0.5) ? 0 : 1 + rng.int(200);
          const expired = key.expiresAtMs !== null && key.expiresAtMs <= nowMs();
          const expected = key.revoked || expired ? "invalid_request" : "ok";
          let rotated: { secret: string } | undefined;
          const actual = outcome(() => {
            rotated = rotateApiKey(kg, key.id, overlap, TEST_ACTOR);
          });
          if (rotated) {
            const until = nowMs() + overlap * 1000;
            for (const s of key.secrets)
              if (s.expiresAtMs === null || s.expiresAtMs > until) s.expiresAtMs = until;
            key.secrets.push({ secret: rotated.secret, expiresAtMs: null });
          }
          return { expected, actual };
        },
        revokeKey(kg) {
          if (model.keys.size === 0) return { expected: "ok", actual: "ok" };
          const key = rng.pick(keys());
          const actual = outcome(() => revokeApiKey(kg, key.id, null, TEST_ACTOR));
          key.revoked = true;
          return { expected: "ok", actual };
        },
        advanceClock() {
          clock.advance(rng.int(90));
          return { expected: "ok", actual: "ok" };
        },
      };
      const weighted = [
        ...Array(3).fill("createEntity"),
        "renameEntity",
        ...Array(2).fill("deactivateEntity"),
        ...Array(2).fill("reactivateEntity"),
        ...Array(5).fill("createKey"),
        "updateKeyScopes",
        ...Array(3).fill("rotateKey"),
        "revokeKey",
        ...Array(3).fill("advanceClock"),
      ] as const;

      /** Every secret ever issued, through each index, against the model. */
      const mismatches = (indexes: [string, Keygate, KeyIndex][]) => {
        const found: string[] = [];
        const now = clock.now();
        for (const key of keys()) {
          for (const [i, secret] of key.secrets.entries()) {
            const want = model.expected(key, secret, now.getTime());
            for (const [label, kg, index] of indexes) {
              const got = observed(kg, index, key, secret, now);
              if (!Bun.deepEquals(got, want)) {
                found.push(
                  `${label}: ${key.id} secret #${i}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
                );
              }
            }
          }
        }
        return found;
      };

      for (let step = 1; step <= STEPS; step++) {
        const name = rng.pick(weighted);
        const by = rng.chance(0.5) ? writer : other;
        const { expected, actual } = (
          steps[name] as (kg: Keygate) => { expected: string; actual: string }
        )(by);
        const label = `seed ${seed} step ${step} (${name} on ${by === writer ? "writer" : "other"})`;
        expect({ step: label, outcome: actual }).toEqual({ step: label, outcome: expected });
        writer.keyIndex.sync();
        other.keyIndex.sync();
        evicting.sync();
        const found = mismatches([
          ["writer", writer, writer.keyIndex],
          ["other", other, other.keyIndex],
          ["evicting", writer, evicting],
        ]);
        expect({ step: label, found }).toEqual({ step: label, found: [] });
      }

      // Secrets never issued: well formed but unknown, and one with a broken checksum.
      const unknown = generateKey(writer.config.keys.secretPrefix, "live");
      expect(verifySecretKey(writer.keyIndex, writer.config.keys, unknown, clock.now())).toEqual({
        ok: false,
        code: "api_key_invalid",
      });
      const broken = `${unknown.slice(0, -1)}${unknown.endsWith("A") ? "B" : "A"}`;
      expect(verifySecretKey(writer.keyIndex, writer.config.keys, broken, clock.now())).toEqual({
        ok: false,
        code: "api_key_malformed",
      });

      // The model exercised what it is for.
      const all = keys();
      expect(all.some((k) => k.revoked)).toBe(true);
      expect(all.some((k) => k.secrets.length > 1)).toBe(true);
      expect(entities().some((e) => !e.active)).toBe(true);

      // A fresh connection, its index empty, reads the same from the tables.
      const fresh = testKeygate({ path, clock, env });
      open.push(fresh);
      expect(mismatches([["fresh", fresh, fresh.keyIndex]])).toEqual([]);

      // Rebuilt from the log, every projection row is the same; the chain verifies.
      const live = dumpProjections(writer);
      rebuildProjections(writer.db.sql, allProjections(writer.db.sql));
      expect(dumpProjections(writer)).toEqual(live);
      expect(verifyLog(writer.db.sql).ok).toBe(true);
    });
  }
});

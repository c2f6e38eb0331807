/**
 * A reference model of who may grant and manage what (SPEC §1: a key never grants more than it
 * holds), written independently of src/ for the model-based HTTP tests: scope holding, rate
 * ceilings, and a small organisation tree populated with random caller keys.
 */
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity } from "../../src/commands/entities.ts";
import type { EntityKind } from "../../src/entities/entity.ts";
import type { testApp } from "./http.ts";
import { TEST_ACTOR } from "./keygate.ts";
import type { Random } from "./random.ts";

/** Scopes the callers and requests draw from: wildcards, reads, writes. */
export const SCOPE_POOL = [
  "*",
  "api_keys:*",
  "api_keys:write",
  "api_keys:read",
  "links:*",
  "links:read",
  "links:write",
  "sessions:write",
];
/** Rate limits drawn from: tighter and looser than the default, in bursts and on average. */
export const RATE_POOL: readonly Rate[] = [
  { limit: 1, window_seconds: 1 },
  { limit: 10, window_seconds: 1 },
  { limit: 100, window_seconds: 1 },
  { limit: 500, window_seconds: 1 },
  { limit: 60, window_seconds: 60 },
  { limit: 1000, window_seconds: 60 },
];
/** SPEC §4's default policy: what a key without its own limit is held to. */
export const DEFAULT_RATE: Rate = { limit: 100, window_seconds: 1 };
/** A day in milliseconds. */
export const DAY_MS = 86_400_000;

/** A rate limit. */
export interface Rate {
  limit: number;
  window_seconds: number;
}
/** An entity of the tree, its path root first. */
export interface TreeEntity {
  id: string;
  kind: EntityKind;
  path: string[];
  active: boolean;
}
/** A key of the population: what the model knows of it. */
export interface ModelKey {
  id: string;
  secret: string;
  entity: TreeEntity;
  environment: "live" | "test";
  scopes: string[];
  rate: Rate | null;
  expiresAtMs: number | null;
  revoked: boolean;
}

/** Which parent kinds each kind may sit under (SPEC §1). */
export const PARENT_KINDS: Record<EntityKind, readonly (EntityKind | null)[]> = {
  platform: [null],
  partner: ["platform"],
  merchant: ["platform", "partner"],
  branch: ["merchant"],
};

/** Whether `held` holds `needed`, as SPEC §1 words it: `*` all, `resource:*` every action. */
export function holds(held: readonly string[], needed: string): boolean {
  if (held.includes("*") || held.includes(needed)) return true;
  const [resource] = needed.split(":");
  return needed !== "*" && held.includes(`${resource}:*`);
}

/** Whether `granted` allows no more at once and no more on average than `ceiling`. */
export function rateWithin(granted: Rate, ceiling: Rate): boolean {
  return (
    granted.limit <= ceiling.limit &&
    granted.limit / granted.window_seconds <= ceiling.limit / ceiling.window_seconds
  );
}

/** The most a key may give: no ceiling for a key at the platform without a limit of its own. */
export function ceilingOf(key: Pick<ModelKey, "rate" | "entity">): Rate | null {
  if (key.rate === null && key.entity.kind === "platform") return null;
  return key.rate ?? DEFAULT_RATE;
}

/**
 * platform → two partners; a merchant under partner A with two branches (one deactivated); a
 * merchant under the platform and one under partner B.
 */
export function buildTree(t: ReturnType<typeof testApp>): TreeEntity[] {
  const root: TreeEntity = { id: t.platform, kind: "platform", path: [t.platform], active: true };
  const tree: TreeEntity[] = [root];
  const add = (kind: EntityKind, parent: TreeEntity) => {
    const e = createEntity(t.kg, { kind, name: kind, parentId: parent.id }, TEST_ACTOR);
    const entity = { id: e.id, kind, path: [...parent.path, e.id], active: true };
    tree.push(entity);
    return entity;
  };
  const partnerA = add("partner", root);
  const partnerB = add("partner", root);
  const merchantA = add("merchant", partnerA);
  add("merchant", root);
  add("branch", merchantA);
  const closed = add("branch", merchantA);
  add("merchant", partnerB);
  deactivateEntity(t.kg, closed.id, null, TEST_ACTOR);
  closed.active = false;
  return tree;
}

/**
 * `count` keys on random active entities, in either environment, with random scopes from
 * `pool` (most also holding one of `writers`, by default the ways to write keys), some with a
 * limit or an expiry 10–30 days away.
 */
export function randomKeys(
  t: ReturnType<typeof testApp>,
  rng: Random,
  tree: readonly TreeEntity[],
  count: number,
  { pool = SCOPE_POOL, writers = ["api_keys:write", "api_keys:*"] } = {},
): ModelKey[] {
  const keys: ModelKey[] = [];
  for (let i = 0; i < count; i++) {
    const entity = rng.pick(tree.filter((e) => e.active));
    const scopes = [...new Set([rng.pick(pool), rng.pick(pool), rng.pick(pool)])];
    if (rng.chance(0.6)) scopes.push(rng.pick(writers));
    const environment = rng.chance(0.5) ? "live" : "test";
    const rate = rng.chance(0.4) ? rng.pick(RATE_POOL) : null;
    const expiresAtMs = rng.chance(0.3)
      ? t.clock.now().getTime() + (10 + rng.int(20)) * DAY_MS
      : null;
    const key = createApiKey(
      t.kg,
      {
        entityId: entity.id,
        environment,
        name: `key ${i}`,
        scopes,
        rateLimit: rate,
        expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs),
      },
      TEST_ACTOR,
    );
    keys.push({
      id: key.id,
      secret: key.secret,
      entity,
      environment,
      scopes,
      rate,
      expiresAtMs,
      revoked: false,
    });
  }
  return keys;
}

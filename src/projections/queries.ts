/**
 * Reads over the projections, returning the API's object shapes (SPEC §6): the CLI's
 * `--json` and the HTTP API print the very same objects.
 */
import { and, asc, eq, gt, isNull, type SQL } from "drizzle-orm";
import type { KeygateDatabase } from "../db/open.ts";
import { apiKeys, entities, users } from "../db/schema.ts";
import type { EntityKind } from "../entities/entity.ts";
import type { Environment } from "../keys/key-format.ts";

/** The entity object of the API. */
export interface EntityObject {
  object: "entity";
  id: string;
  kind: EntityKind;
  name: string;
  parent_id: string | null;
  path: string[];
  reference: string | null;
  /** False when the entity or any ancestor is deactivated. */
  active: boolean;
  created_at: string;
}

/** The API key object of the API (never holds a secret). */
export interface ApiKeyObject {
  object: "api_key";
  id: string;
  name: string;
  kind: "secret" | "pair";
  public_key: string | null;
  prefix: string;
  masked: string;
  environment: Environment;
  livemode: boolean;
  status: "active" | "revoked" | "expired";
  active: boolean;
  scopes: string[];
  entity_id: string;
  rate_limit: { limit: number; window_seconds: number } | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

type EntityRow = typeof entities.$inferSelect;
type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Maps an entities row to the entity object. */
export function toEntityObject(row: EntityRow): EntityObject {
  return {
    object: "entity",
    id: row.id,
    kind: row.kind,
    name: row.name,
    parent_id: row.parentId,
    path: row.path.split("/"),
    reference: row.reference,
    active: row.effectiveActive,
    created_at: row.createdAt,
  };
}

/** A key's status at `now`: an active key past its expiry is `expired`. */
export function keyStatus(
  status: "active" | "revoked",
  expiresAt: string | null,
  now: Date,
): ApiKeyObject["status"] {
  if (status === "revoked") return "revoked";
  return expiresAt !== null && expiresAt <= now.toISOString() ? "expired" : "active";
}

/** Maps an api_keys row to the API key object, its status judged at `now`. */
export function toApiKeyObject(row: ApiKeyRow, now: Date): ApiKeyObject {
  const status = keyStatus(row.status, row.expiresAt, now);
  return {
    object: "api_key",
    id: row.id,
    name: row.name,
    kind: row.kind,
    public_key: row.publicKey,
    prefix: row.prefix,
    masked: row.masked,
    environment: row.environment,
    livemode: row.environment === "live",
    status,
    active: status === "active",
    scopes: JSON.parse(row.scopes) as string[],
    entity_id: row.entityId,
    rate_limit:
      row.rateLimit !== null && row.rateLimitWindowSeconds !== null
        ? { limit: row.rateLimit, window_seconds: row.rateLimitWindowSeconds }
        : null,
    created_at: row.createdAt,
    last_used_at: null,
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt,
  };
}

/** One entity by id. */
export function findEntity(db: KeygateDatabase, id: string): EntityObject | undefined {
  const row = db.orm.select().from(entities).where(eq(entities.id, id)).get();
  return row && toEntityObject(row);
}

/** The platform (root) entity, if `init` has run. */
export function findPlatformEntity(db: KeygateDatabase): EntityObject | undefined {
  const row = db.orm.select().from(entities).where(eq(entities.kind, "platform")).get();
  return row && toEntityObject(row);
}

/** Whether `parentId` already has a child with this reference. */
export function siblingReferenceTaken(
  db: KeygateDatabase,
  parentId: string | null,
  reference: string,
): boolean {
  const parent = parentId === null ? isNull(entities.parentId) : eq(entities.parentId, parentId);
  return (
    db.orm
      .select({ id: entities.id })
      .from(entities)
      .where(and(parent, eq(entities.reference, reference)))
      .get() !== undefined
  );
}

/** Entities, optionally only the children of one, ordered by id. */
export function listEntities(
  db: KeygateDatabase,
  filter: { parentId?: string } = {},
): EntityObject[] {
  const where = filter.parentId === undefined ? undefined : eq(entities.parentId, filter.parentId);
  return db.orm
    .select()
    .from(entities)
    .where(where)
    .orderBy(asc(entities.id))
    .all()
    .map(toEntityObject);
}

/** One key by id. */
export function findApiKey(db: KeygateDatabase, id: string, now: Date): ApiKeyObject | undefined {
  const row = db.orm.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  return row && toApiKeyObject(row, now);
}

/** A page of keys, ordered by id, after the cursor `startingAfter`. */
export function listApiKeys(
  db: KeygateDatabase,
  filter: { entityId?: string; startingAfter?: string; limit?: number },
  now: Date,
): ApiKeyObject[] {
  const conditions: SQL[] = [];
  if (filter.entityId !== undefined) conditions.push(eq(apiKeys.entityId, filter.entityId));
  if (filter.startingAfter !== undefined) conditions.push(gt(apiKeys.id, filter.startingAfter));
  return db.orm
    .select()
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(asc(apiKeys.id))
    .limit(filter.limit ?? 100)
    .all()
    .map((row) => toApiKeyObject(row, now));
}

/** Whether a user already has this (normalised) email. */
export function emailTaken(db: KeygateDatabase, email: string): boolean {
  return (
    db.orm.select({ id: users.id }).from(users).where(eq(users.email, email)).get() !== undefined
  );
}

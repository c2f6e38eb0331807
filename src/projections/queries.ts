/**
 * Reads over the projections, returning the API's object shapes (SPEC §6): the CLI's
 * `--json` and the HTTP API print the very same objects.
 */
import { and, asc, eq, gt, isNull, type SQL, sql } from "drizzle-orm";
import type { KeygateDatabase } from "../db/open.ts";
import { apiKeys, entities, users } from "../db/schema.ts";
import type { EntityKind } from "../entities/entity.ts";
import type { Environment } from "../keys/key-format.ts";
import type { RecordedEvent } from "../store/recorded-event.ts";
import type { IndexedEntity, IndexedKey } from "./key-index.ts";

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

/** The one value a prepared lookup is given. */
const VALUE = sql.placeholder("value");

/**
 * The lookups by one value that management requests make several times each, prepared once
 * per database: drizzle's query builder costs ~85 µs a call here (building the SQL, then
 * SQLite preparing it), a prepared query ~7 µs. SQLite re-prepares them itself if the schema
 * changes under them.
 */
function prepareLookups(db: KeygateDatabase) {
  return {
    entityById: db.orm.select().from(entities).where(eq(entities.id, VALUE)).prepare(),
    keyById: db.orm.select().from(apiKeys).where(eq(apiKeys.id, VALUE)).prepare(),
    userById: db.orm.select().from(users).where(eq(users.id, VALUE)).prepare(),
    userByEmail: db.orm.select().from(users).where(eq(users.email, VALUE)).prepare(),
  };
}

const preparedLookups = new WeakMap<KeygateDatabase, ReturnType<typeof prepareLookups>>();

function lookupsOf(db: KeygateDatabase): ReturnType<typeof prepareLookups> {
  let lookups = preparedLookups.get(db);
  if (!lookups) {
    lookups = prepareLookups(db);
    preparedLookups.set(db, lookups);
  }
  return lookups;
}

/** Maps an entities row to the entity object. */
export function toEntityObject(row: EntityRow): EntityObject {
  return entityObjectOf({ ...row, path: row.path.split("/"), active: row.effectiveActive });
}

/** What an API key object is built from, whichever read model it came from. */
interface ApiKeyFields {
  id: string;
  name: string;
  kind: "secret" | "pair";
  publicKey: string | null;
  prefix: string;
  masked: string;
  environment: Environment;
  status: "active" | "revoked";
  scopes: string[];
  entityId: string;
  rateLimit: { limit: number; window_seconds: number } | null;
  createdAt: string;
  expiresAt: string | null;
  /** `expiresAt` as epoch milliseconds. */
  expiresAtMs: number | null;
  revokedAt: string | null;
}

/** The API key object, its status judged at `now` (an active key past its expiry is `expired`). */
function apiKeyObject(
  k: Omit<ApiKeyFields, "entityId">,
  entityId: string,
  now: Date,
): ApiKeyObject {
  const expired = k.expiresAtMs !== null && k.expiresAtMs <= now.getTime();
  const status = k.status === "revoked" ? "revoked" : expired ? "expired" : "active";
  return {
    object: "api_key",
    id: k.id,
    name: k.name,
    kind: k.kind,
    public_key: k.publicKey,
    prefix: k.prefix,
    masked: k.masked,
    environment: k.environment,
    livemode: k.environment === "live",
    status,
    active: status === "active",
    scopes: k.scopes,
    entity_id: entityId,
    rate_limit: k.rateLimit,
    created_at: k.createdAt,
    last_used_at: null,
    expires_at: k.expiresAt,
    revoked_at: k.revokedAt,
  };
}

/** Maps an api_keys row to the API key object, its status judged at `now`. */
export function toApiKeyObject(row: ApiKeyRow, now: Date): ApiKeyObject {
  return apiKeyObject(
    {
      ...row,
      scopes: JSON.parse(row.scopes) as string[],
      rateLimit:
        row.rateLimit !== null && row.rateLimitWindowSeconds !== null
          ? { limit: row.rateLimit, window_seconds: row.rateLimitWindowSeconds }
          : null,
      expiresAtMs: row.expiresAt === null ? null : Date.parse(row.expiresAt),
    },
    row.entityId,
    now,
  );
}

/** The API key object of a key from the hot index (no SQL), its status judged at `now`. */
export function apiKeyObjectOf(key: IndexedKey, now: Date): ApiKeyObject {
  return apiKeyObject(key, key.entity.id, now);
}

/** The entity object of a key's entity from the hot index (no SQL). */
export function entityObjectOf(entity: IndexedEntity): EntityObject {
  return {
    object: "entity",
    id: entity.id,
    kind: entity.kind,
    name: entity.name,
    parent_id: entity.parentId,
    path: entity.path,
    reference: entity.reference,
    active: entity.active,
    created_at: entity.createdAt,
  };
}

/** One entity by id. */
export function findEntity(db: KeygateDatabase, id: string): EntityObject | undefined {
  const row = lookupsOf(db).entityById.get({ value: id });
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

/** The entities with this reference in the subtree rooted at `subtreePath`'s entity (at most 2). */
export function findEntitiesByReference(
  db: KeygateDatabase,
  reference: string,
  subtreePath: readonly string[],
): EntityObject[] {
  return db.orm
    .select()
    .from(entities)
    .where(and(eq(entities.reference, reference), inSubtreeSql(entities.id, subtreePath)))
    .limit(2)
    .all()
    .map(toEntityObject);
}

/** Entities ordered by id: optionally only the children of one, after an id, at most `limit`. */
export function listEntities(
  db: KeygateDatabase,
  filter: { parentId?: string; startingAfter?: string; limit?: number } = {},
): EntityObject[] {
  const conditions: SQL[] = [];
  if (filter.parentId !== undefined) conditions.push(eq(entities.parentId, filter.parentId));
  if (filter.startingAfter !== undefined) conditions.push(gt(entities.id, filter.startingAfter));
  const query = db.orm
    .select()
    .from(entities)
    .where(and(...conditions))
    .orderBy(asc(entities.id));
  return (filter.limit === undefined ? query : query.limit(filter.limit)).all().map(toEntityObject);
}

/** One key by id. */
export function findApiKey(db: KeygateDatabase, id: string, now: Date): ApiKeyObject | undefined {
  const row = lookupsOf(db).keyById.get({ value: id });
  return row && toApiKeyObject(row, now);
}

/** Which keys a listing covers. */
export interface KeyListFilter {
  /** Only keys of entities in the subtree rooted at this entity (given by its path). */
  subtreePath?: readonly string[];
  /** Only keys of this environment. */
  environment?: Environment;
  entityId?: string;
  status?: ApiKeyObject["status"];
  /** Cursor: only keys whose id sorts after this one. */
  startingAfter?: string;
  /** Page size (default 100). */
  limit?: number;
}

/**
 * An SQL condition: the row's entity is `path`'s entity or below it. The entities are found
 * through the path index: the descendants' paths sort between `root/` and `root0`. None
 * (undefined) for the platform's path: its subtree is every entity, so that a query over the
 * whole deployment looks nothing up and its other indexes serve it.
 */
export function inSubtreeSql(
  entityIdColumn: SQL | typeof apiKeys.entityId | typeof entities.id | typeof users.entityId,
  path: readonly string[],
): SQL | undefined {
  if (path.length === 1) return undefined;
  const root = path.join("/");
  return sql`${entityIdColumn} IN (SELECT id FROM entities WHERE path = ${root} OR (path > ${`${root}/`} AND path < ${`${root}0`}))`;
}

/** A page of keys, ordered by id (so by creation), after the cursor `startingAfter`. */
export function listApiKeys(db: KeygateDatabase, filter: KeyListFilter, now: Date): ApiKeyObject[] {
  return keyListQuery(db, filter, now)
    .all()
    .map((row) => toApiKeyObject(row, now));
}

/**
 * The query {@link listApiKeys} runs, not yet run (its plan is tested: no listing reads every
 * key to find a few).
 */
export function keyListQuery(db: KeygateDatabase, filter: KeyListFilter, now: Date) {
  const at = now.toISOString();
  const conditions: SQL[] = [];
  // The platform's listings have no subtree condition, so that the environment and status
  // indexes serve them. Below it, or for one entity, the entity index does, and the other
  // terms are kept from the planner (`+column`): it would otherwise walk a whole environment
  // in id order to avoid sorting a subtree's few keys.
  const inSubtree = filter.subtreePath && inSubtreeSql(apiKeys.entityId, filter.subtreePath);
  const byEntity = filter.entityId !== undefined || inSubtree !== undefined;
  const column = (c: typeof apiKeys.environment | typeof apiKeys.status) =>
    byEntity ? sql`+${c}` : sql`${c}`;
  if (inSubtree) conditions.push(inSubtree);
  if (filter.environment)
    conditions.push(sql`${column(apiKeys.environment)} = ${filter.environment}`);
  if (filter.entityId !== undefined) conditions.push(eq(apiKeys.entityId, filter.entityId));
  if (filter.startingAfter !== undefined) conditions.push(gt(apiKeys.id, filter.startingAfter));
  if (filter.status === "revoked") conditions.push(sql`${column(apiKeys.status)} = 'revoked'`);
  if (filter.status === "active") {
    conditions.push(
      sql`${column(apiKeys.status)} = 'active' AND (${apiKeys.expiresAt} IS NULL OR ${apiKeys.expiresAt} > ${at})`,
    );
  }
  if (filter.status === "expired") {
    // `+status`: the partial index of expiring keys holds the few, not every active key.
    conditions.push(sql`${apiKeys.expiresAt} <= ${at} AND +${apiKeys.status} = 'active'`);
  }
  return db.orm
    .select()
    .from(apiKeys)
    .where(and(...conditions))
    .orderBy(asc(apiKeys.id))
    .limit(filter.limit ?? 100);
}

/** Whether a user already has this (normalised) email. */
export function emailTaken(db: KeygateDatabase, email: string): boolean {
  return lookupsOf(db).userByEmail.get({ value: email }) !== undefined;
}

/** A user as authentication needs it (with the password hash: never serialise this). */
export interface UserRecord {
  id: string;
  email: string;
  entity_id: string;
  password_hash: string;
  /** False once deactivated: it may not log in, and its tokens are refused. */
  active: boolean;
  /** When the password was last changed; null if never since creation. */
  password_changed_at: string | null;
  created_at: string;
}

function toUserRecord(row: typeof users.$inferSelect): UserRecord {
  return {
    id: row.id,
    email: row.email,
    entity_id: row.entityId,
    password_hash: row.passwordHash,
    active: row.active,
    password_changed_at: row.passwordChangedAt,
    created_at: row.createdAt,
  };
}

/** One user by id. */
export function findUser(db: KeygateDatabase, id: string): UserRecord | undefined {
  const row = lookupsOf(db).userById.get({ value: id });
  return row && toUserRecord(row);
}

/** Which users a listing covers: optionally one subtree's, one entity's, one email's. */
export interface UserListFilter {
  /** Only users of entities in the subtree rooted at this entity (given by its path). */
  subtreePath?: readonly string[];
  entityId?: string;
  /** A normalised email: at most one user. */
  email?: string;
  /** Cursor: only users whose id sorts after this one. */
  startingAfter?: string;
  limit: number;
}

/** A page of users, ordered by id (so by creation), after the cursor `startingAfter`. */
export function listUsers(db: KeygateDatabase, filter: UserListFilter): UserRecord[] {
  return userListQuery(db, filter).all().map(toUserRecord);
}

/** The query {@link listUsers} runs, not yet run (its plan is tested, as the keys' is). */
export function userListQuery(db: KeygateDatabase, filter: UserListFilter) {
  const conditions: (SQL | undefined)[] = [];
  if (filter.subtreePath) conditions.push(inSubtreeSql(users.entityId, filter.subtreePath));
  if (filter.entityId !== undefined) conditions.push(eq(users.entityId, filter.entityId));
  if (filter.email !== undefined) conditions.push(eq(users.email, filter.email));
  if (filter.startingAfter !== undefined) conditions.push(gt(users.id, filter.startingAfter));
  return db.orm
    .select()
    .from(users)
    .where(and(...conditions))
    .orderBy(asc(users.id))
    .limit(filter.limit);
}

/** One user by (normalised) email. */
export function findUserByEmail(db: KeygateDatabase, email: string): UserRecord | undefined {
  const row = lookupsOf(db).userByEmail.get({ value: email });
  return row && toUserRecord(row);
}

/** The event object of the API. */
export interface EventObject {
  object: "event";
  position: number;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: { actor: string; request_id: string | null };
  recorded_at: string;
  prev_hash: string;
  hash: string;
}

/** What an event object carries instead of a password hash. */
export const REDACTED = "[redacted]";

/**
 * Maps a recorded event to the event object. A user's password hash (`user.created`,
 * `user.password_changed`) is replaced by
 * "[redacted]": an scrypt hash of a human-chosen password can still be attacked offline, so it
 * never leaves the server. (Auditors recompute the chain from the database or an export.)
 */
export function eventObjectOf(event: RecordedEvent): EventObject {
  return {
    object: "event",
    position: event.position,
    stream_id: event.streamId,
    stream_version: event.streamVersion,
    type: event.type,
    schema_version: event.schemaVersion,
    data: "password_hash" in event.data ? { ...event.data, password_hash: REDACTED } : event.data,
    metadata: event.metadata,
    recorded_at: event.recordedAt,
    prev_hash: event.prevHash,
    hash: event.hash,
  };
}

/**
 * The drizzle schema: the append-only event log, the stream table used for optimistic
 * concurrency, and the projection tables (read models) rebuilt from the log.
 *
 * Migrations in `drizzle/` are generated from this file by `bun run db:generate`.
 */
import { sql } from "drizzle-orm";
import {
  blob,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/** Every event ever recorded, in global order, hash-chained. Never updated or deleted. */
export const events = sqliteTable(
  "events",
  {
    position: integer("position").primaryKey(),
    streamId: text("stream_id").notNull(),
    streamVersion: integer("stream_version").notNull(),
    type: text("type").notNull(),
    schemaVersion: integer("schema_version").notNull(),
    data: text("data").notNull(),
    metadata: text("metadata").notNull(),
    recordedAt: text("recorded_at").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [uniqueIndex("events_stream_version").on(t.streamId, t.streamVersion)],
);

/**
 * One row per stream: its current version, the compare-and-swap target of every append.
 * Created `WITHOUT ROWID` (migration 0009; drizzle's builder cannot say so): the table is the
 * B-tree of its key, with no separate index for it.
 */
export const streams = sqliteTable("streams", {
  streamId: text("stream_id").primaryKey(),
  version: integer("version").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * Projection bookkeeping: the version of each read model's logic that built its tables, and
 * the log position its last rebuild replayed through (inline updates keep it at the head).
 */
export const projectionState = sqliteTable("projection_state", {
  name: text("name").primaryKey(),
  version: integer("version").notNull(),
  position: integer("position").notNull(),
});

/** Read model: API keys by id. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    entityId: text("entity_id").notNull(),
    environment: text("environment", { enum: ["live", "test"] }).notNull(),
    kind: text("kind", { enum: ["secret", "pair"] }).notNull(),
    name: text("name").notNull(),
    scopes: text("scopes").notNull(),
    prefix: text("prefix").notNull(),
    masked: text("masked").notNull(),
    publicKey: text("public_key"),
    rateLimit: integer("rate_limit"),
    rateLimitWindowSeconds: integer("rate_limit_window_seconds"),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [
    index("api_keys_entity").on(t.entityId, t.id),
    // Listings in id order by environment, and by status: without them, the keys of an
    // environment or a status that few keys have (the test keys, the revoked ones) were found
    // by reading every key — 0.3 s on a million, holding the server.
    index("api_keys_environment").on(t.environment, t.id),
    index("api_keys_environment_status").on(t.environment, t.status, t.id),
    // Partial: keys that never expire (most) add no entry to it.
    index("api_keys_expiring").on(t.environment, t.id).where(sql`${t.expiresAt} IS NOT NULL`),
    // Partial: secret keys (no public key) add no entry to it.
    uniqueIndex("api_keys_public_key").on(t.publicKey).where(sql`${t.publicKey} IS NOT NULL`),
  ],
);

/**
 * Read model: who below the platform may read which event on `GET /v1/events` — one row per
 * event for the entity it belongs to and each of that entity's ancestors below the platform,
 * in each environment that sees it (`viewer` = `<entity id>:<environment>`). A subtree's page
 * is then one range of the primary key, however long the log and however busy the subtree.
 * Created `WITHOUT ROWID` (migration 0011; drizzle's builder cannot say so).
 */
export const eventViewers = sqliteTable(
  "event_viewers",
  {
    viewer: text("viewer").notNull(),
    position: integer("position").notNull(),
  },
  (t) => [primaryKey({ columns: [t.viewer, t.position] })],
);

/**
 * Read model: keys by secret hash. A key has one current secret and, after an overlapping
 * rotation, retiring secrets that carry the time they stop working.
 */
export const apiKeySecrets = sqliteTable(
  "api_key_secrets",
  {
    // A rowid table with a unique index on the hash, not the hash as primary key: a rebuild
    // can then drop the index and build it sorted at the end, instead of a million random
    // inserts into a primary-key index.
    id: integer("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    keyId: text("key_id").notNull(),
    salt: text("salt"),
    expiresAt: text("expires_at"),
  },
  (t) => [
    uniqueIndex("api_key_secrets_hash").on(t.secretHash),
    index("api_key_secrets_key").on(t.keyId),
  ],
);

/** Read model: the entity tree with materialised paths and the effective active flag. */
export const entities = sqliteTable(
  "entities",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: ["platform", "partner", "merchant", "branch"] }).notNull(),
    name: text("name").notNull(),
    parentId: text("parent_id"),
    path: text("path").notNull(),
    reference: text("reference"),
    active: integer("active", { mode: "boolean" }).notNull(),
    effectiveActive: integer("effective_active", { mode: "boolean" }).notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("entities_parent").on(t.parentId, t.id),
    index("entities_path").on(t.path),
    uniqueIndex("entities_sibling_reference").on(t.parentId, t.reference),
    // One platform per deployment, even when two processes run `init` at once.
    uniqueIndex("entities_one_platform").on(t.kind).where(sql`${t.kind} = 'platform'`),
  ],
);

/** Read model: dashboard users. */
export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    entityId: text("entity_id").notNull(),
    createdAt: text("created_at").notNull(),
    /** False once deactivated: no login, and its tokens refused. */
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    /** When the password was last changed (null: never since creation). */
    passwordChangedAt: text("password_changed_at"),
  },
  (t) => [
    uniqueIndex("users_email").on(t.email),
    // A subtree's users, in id order per entity: without it, listing one merchant's users read
    // every user.
    index("users_entity").on(t.entityId, t.id),
  ],
);

/**
 * When each key was last used. Operational data, not a projection: it is not in the event
 * log (a write per request would be), it is flushed in batches by the usage tracker, and a
 * rebuild leaves it alone.
 */
export const apiKeyUsage = sqliteTable("api_key_usage", {
  keyId: text("key_id").primaryKey(),
  lastUsedAt: text("last_used_at").notNull(),
});

/**
 * Read model: the recorded result of each Idempotency-Key, by scope
 * (`{entity}:{scope}:{key}`), until it expires; the sealed response stays in the event at
 * `position`. Expired rows are swept; the log keeps every result.
 */
export const idempotencyResults = sqliteTable(
  "idempotency_results",
  {
    scopeKey: text("scope_key").primaryKey(),
    fingerprint: text("fingerprint").notNull(),
    position: integer("position").notNull(),
    streamVersion: integer("stream_version").notNull(),
    dataKeyId: text("data_key_id").notNull(),
    /** Unix milliseconds. */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("idempotency_results_expiry").on(t.expiresAt)],
);

/**
 * The data key of each recorded result, wrapped (AES-256-GCM) under the results master key
 * that lives outside the database. Not in the log and not a projection: written in the same
 * transaction as its result's event, deleted when the result expires (crypto-shredding), and
 * never rebuilt — once gone, that result can no longer be read by anyone.
 */
export const idempotencyDataKeys = sqliteTable(
  "idempotency_data_keys",
  {
    id: text("id").primaryKey(),
    wrappedKey: blob("wrapped_key", { mode: "buffer" }).notNull(),
    /** Unix milliseconds. */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("idempotency_data_keys_expiry").on(t.expiresAt)],
);

/**
 * Signed checkpoints of the log: its size and head hash at a moment, signed with the
 * deployment's Ed25519 key (issue 7). Append-only like the log: a verifier compares the log
 * with the latest one, so a rewritten history with a recomputed chain is still caught.
 */
export const checkpoints = sqliteTable("checkpoints", {
  id: integer("id").primaryKey(),
  /** How many events the log held (= the head's position). */
  size: integer("size").notNull(),
  headHash: text("head_hash").notNull(),
  createdAt: text("created_at").notNull(),
  /** The signer's public key: SPKI DER, base64. */
  publicKey: text("public_key").notNull(),
  /** Ed25519 signature of the checkpoint's message, base64. */
  signature: text("signature").notNull(),
});

/**
 * Which pepper the database's secrets are hashed with (src/keys/pepper-check.ts): one row,
 * written when the first keys are made or the first key is found, so that a process started
 * with another pepper — or without the one the keys need — is refused instead of finding no
 * key. Holds a slow hash of the pepper, never the pepper.
 */
export const pepperCheck = sqliteTable("pepper_check", {
  /** Always 1: the table has one row at most. */
  id: integer("id").primaryKey(),
  /** `none`, or `scrypt:N:r:p:salt:hash` (hex) of the pepper. */
  verifier: text("verifier").notNull(),
  recordedAt: text("recorded_at").notNull(),
});

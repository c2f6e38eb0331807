/**
 * The hot in-memory index for key lookup: a bounded read-through cache over the
 * api_key_secrets / api_keys / entities projections.
 *
 * It cannot disagree with the tables: entries are only ever copies of committed rows, and
 * they are dropped (never patched) when an event touches them — after our own commits via
 * the store's subscription, and after another connection's commits (the CLI on the same
 * file) when {@link KeyIndex.sync} sees SQLite's data_version move. Lookups of unknown
 * secrets are not cached, so a key created elsewhere is found at once.
 */
import { LruMap } from "../cache/lru-map.ts";
import type { SqlConnection } from "../db/sql.ts";
import type { Environment } from "../keys/key-format.ts";
import type { EventStore } from "../store/event-store.ts";
import type { RecordedEvent } from "../store/recorded-event.ts";

/** A key as authentication needs it, with its entity's effective state. */
export interface IndexedKey {
  id: string;
  kind: "secret" | "pair";
  name: string;
  environment: Environment;
  scopes: string[];
  prefix: string;
  masked: string;
  publicKey: string | null;
  rateLimit: { limit: number; window_seconds: number } | null;
  status: "active" | "revoked";
  createdAt: string;
  expiresAt: string | null;
  /** `expiresAt` in epoch milliseconds, parsed once when the entry is cached. */
  expiresAtMs: number | null;
  revokedAt: string | null;
  entity: IndexedEntity;
}

/** The key's entity as of the lookup, its `active` flag effective (ancestors included). */
export interface IndexedEntity {
  id: string;
  kind: "platform" | "partner" | "merchant" | "branch";
  name: string;
  parentId: string | null;
  path: string[];
  reference: string | null;
  active: boolean;
  createdAt: string;
}

/** One stored secret of a key: its hash, salt (pairs only) and when it stops working. */
export interface IndexedSecret {
  secretHash: string;
  salt: string | null;
  /** Set on rotated-out secrets; null for the current one. */
  expiresAt: string | null;
  /** `expiresAt` in epoch milliseconds. */
  expiresAtMs: number | null;
}

/** A lookup result: the key and the secret(s) it may be presented with. */
export interface KeyMatch {
  key: IndexedKey;
  secrets: IndexedSecret[];
}

interface JoinedRow {
  id: string;
  kind: "secret" | "pair";
  name: string;
  environment: Environment;
  scopes: string;
  prefix: string;
  masked: string;
  public_key: string | null;
  rate_limit: number | null;
  rate_limit_window_seconds: number | null;
  status: "active" | "revoked";
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  entity_id: string;
  entity_kind: IndexedEntity["kind"];
  entity_name: string;
  entity_parent_id: string | null;
  entity_path: string;
  entity_reference: string | null;
  entity_active: number;
  entity_created_at: string;
  secret_hash: string;
  salt: string | null;
  secret_expires_at: string | null;
}

const SELECT = `SELECT k.id, k.kind, k.name, k.environment, k.scopes, k.prefix, k.masked, k.public_key,
  k.rate_limit, k.rate_limit_window_seconds, k.status, k.created_at, k.expires_at, k.revoked_at,
  k.entity_id, e.kind AS entity_kind, e.name AS entity_name, e.parent_id AS entity_parent_id,
  e.path AS entity_path, e.reference AS entity_reference, e.effective_active AS entity_active,
  e.created_at AS entity_created_at,
  s.secret_hash, s.salt, s.expires_at AS secret_expires_at
  FROM api_key_secrets s JOIN api_keys k ON k.id = s.key_id JOIN entities e ON e.id = k.entity_id`;

function toMatch(rows: JoinedRow[]): KeyMatch | undefined {
  const first = rows[0];
  if (!first) return undefined;
  return {
    key: {
      id: first.id,
      kind: first.kind,
      name: first.name,
      environment: first.environment,
      scopes: JSON.parse(first.scopes) as string[],
      prefix: first.prefix,
      masked: first.masked,
      publicKey: first.public_key,
      rateLimit:
        first.rate_limit !== null && first.rate_limit_window_seconds !== null
          ? { limit: first.rate_limit, window_seconds: first.rate_limit_window_seconds }
          : null,
      status: first.status,
      createdAt: first.created_at,
      expiresAt: first.expires_at,
      expiresAtMs: first.expires_at === null ? null : Date.parse(first.expires_at),
      revokedAt: first.revoked_at,
      entity: {
        id: first.entity_id,
        kind: first.entity_kind,
        name: first.entity_name,
        parentId: first.entity_parent_id,
        path: first.entity_path.split("/"),
        reference: first.entity_reference,
        active: first.entity_active === 1,
        createdAt: first.entity_created_at,
      },
    },
    secrets: rows.map((r) => ({
      secretHash: r.secret_hash,
      salt: r.salt,
      expiresAt: r.secret_expires_at,
      expiresAtMs: r.secret_expires_at === null ? null : Date.parse(r.secret_expires_at),
    })),
  };
}

/** The cache key of a lookup by secret hash, and of one by public key: one map holds both. */
const bySecretCacheKey = (secretHash: string) => `h:${secretHash}`;
const byPublicCacheKey = (publicKey: string) => `p:${publicKey}`;

/** Options of a {@link KeyIndex}. */
export interface KeyIndexOptions {
  /** Most entries held; the least recently used go first. Default 100,000. */
  maxEntries?: number;
}

/** Bounded read-through cache of key lookups, invalidated by committed events. */
export class KeyIndex {
  readonly #sql: SqlConnection;
  readonly #entries: LruMap<string, KeyMatch>;
  readonly #cacheKeysByKeyId = new Map<string, Set<string>>();
  #seenPosition: number;
  #seenDataVersion: number;

  constructor(sql: SqlConnection, store: EventStore, options: KeyIndexOptions = {}) {
    this.#sql = sql;
    this.#entries = new LruMap({
      maxEntries: options.maxEntries ?? 100_000,
      onEvict: (cacheKey, match) => this.#unindex(cacheKey, match),
    });
    this.#seenPosition = store.headPosition();
    this.#seenDataVersion = sql.dataVersion();
    store.subscribe((events) => this.#invalidate(events));
  }

  /** How many lookups are cached. */
  get size(): number {
    return this.#entries.size;
  }

  /** The key whose secret key hashes to `secretHash`, with that one secret. */
  bySecretHash(secretHash: string): KeyMatch | undefined {
    return this.#lookup(bySecretCacheKey(secretHash), () =>
      this.#sql.prepare<JoinedRow>(`${SELECT} WHERE s.secret_hash = ?`).all(secretHash),
    );
  }

  /** The key pair named by `publicKey`, with every secret it has had. */
  byPublicKey(publicKey: string): KeyMatch | undefined {
    return this.#lookup(byPublicCacheKey(publicKey), () =>
      this.#sql.prepare<JoinedRow>(`${SELECT} WHERE k.public_key = ?`).all(publicKey),
    );
  }

  /**
   * {@link bySecretHash} from memory alone: the match if a lookup cached it, else undefined
   * without asking SQLite. A hit proves the secret is one this deployment issued.
   */
  cachedBySecretHash(secretHash: string): KeyMatch | undefined {
    return this.#entries.get(bySecretCacheKey(secretHash));
  }

  /** {@link byPublicKey} from memory alone, as {@link cachedBySecretHash}. */
  cachedByPublicKey(publicKey: string): KeyMatch | undefined {
    return this.#entries.get(byPublicCacheKey(publicKey));
  }

  /**
   * Catches up with commits made by other connections to the same file: drops what their
   * events touched, reading every event after the last one seen. Also runs before this
   * connection's own commits are taken in, so that they never skip another's.
   */
  sync(): void {
    const dataVersion = this.#sql.dataVersion();
    if (dataVersion === this.#seenDataVersion) return;
    this.#seenDataVersion = dataVersion;
    const rows = this.#sql
      .prepare<{ position: number; type: string; stream_id: string }>(
        "SELECT position, type, stream_id FROM events WHERE position > ? ORDER BY position",
      )
      .all(this.#seenPosition);
    for (const row of rows) this.#invalidateOne(row.type, row.stream_id, row.position);
  }

  #lookup(cacheKey: string, query: () => JoinedRow[]): KeyMatch | undefined {
    const hit = this.#entries.get(cacheKey);
    if (hit) return hit;
    const match = toMatch(query());
    if (match) this.#remember(cacheKey, match);
    return match;
  }

  #remember(cacheKey: string, match: KeyMatch): void {
    this.#entries.set(cacheKey, match);
    const set = this.#cacheKeysByKeyId.get(match.key.id) ?? new Set<string>();
    set.add(cacheKey);
    this.#cacheKeysByKeyId.set(match.key.id, set);
  }

  #forget(cacheKey: string): void {
    const match = this.#entries.delete(cacheKey);
    if (match) this.#unindex(cacheKey, match);
  }

  /** Drops a cached lookup from the index of lookups by key id. */
  #unindex(cacheKey: string, match: KeyMatch): void {
    const set = this.#cacheKeysByKeyId.get(match.key.id);
    set?.delete(cacheKey);
    if (set?.size === 0) this.#cacheKeysByKeyId.delete(match.key.id);
  }

  #invalidate(events: readonly RecordedEvent[]): void {
    // Another connection may have committed before this one did: read its events first, or
    // our positions would move the mark past them and sync() would never read them.
    this.sync();
    for (const event of events) this.#invalidateOne(event.type, event.streamId, event.position);
  }

  #invalidateOne(type: string, streamId: string, position: number): void {
    if (position > this.#seenPosition) this.#seenPosition = position;
    if (type.startsWith("entity.") && type !== "entity.created") {
      // An entity change can flip the effective state of a whole subtree's keys, or the name
      // and reference their lookups carry.
      this.#entries.clear();
      this.#cacheKeysByKeyId.clear();
    } else if (type.startsWith("api_key.")) {
      for (const cacheKey of [...(this.#cacheKeysByKeyId.get(streamId) ?? [])])
        this.#forget(cacheKey);
    }
  }
}

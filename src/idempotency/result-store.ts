/**
 * Recorded idempotent results: exactly-once admission of requests by Idempotency-Key, and
 * the durable record of what each first request answered (SPEC §5). Framework-free: the
 * HTTP plugin and the gateway both drive it.
 *
 * A request {@link IdempotencyResults.begin}s with its scope and fingerprint and gets one of:
 * a replay of the recorded response, a mismatch, "in use" (the first request is still
 * running in this process), or a ticket to run the handler. The ticket's `complete` appends
 * the sealed response to the log (group commit) and returns only once it is durable; the
 * response may then be sent.
 */
import { setImmediate } from "node:timers";
import { LruMap } from "../cache/lru-map.ts";
import type { SqlConnection } from "../db/sql.ts";
import { newId } from "../ids/index.ts";
import { idempotencyScopeKey } from "../projections/idempotency-results.ts";
import type { AppendOptions, EventStore } from "../store/event-store.ts";
import { type ExpectedStreamVersion, NO_CONCURRENCY_CHECK } from "../store/expected-version.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import type { ResultCipher } from "./result-cipher.ts";
import {
  parseStoredResponse,
  type StoredResponse,
  serialiseStoredResponse,
} from "./stored-response.ts";

const UNREADABLE =
  "The results key (KEYGATE_RESULTS_KEY, or keygate-results.key beside the database) does not open the results this database recorded: was the database restored without its key file, or the key changed? Put the key they were sealed with back and restart.";

/** How many recorded results are still in their window, and when the last one leaves it. */
export interface ResultsInWindow {
  count: number;
  untilMs: number;
}

/** The recorded results of the database `sql` opens still in their window at `nowMs`, if any. */
export function resultsInWindow(sql: SqlConnection, nowMs: number): ResultsInWindow | undefined {
  const within = sql
    .prepare<{ count: number; until: number | null }>(
      "SELECT COUNT(*) AS count, MAX(expires_at) AS until FROM idempotency_data_keys WHERE expires_at > ?",
    )
    .get(nowMs);
  return within && within.count > 0 && within.until !== null
    ? { count: within.count, untilMs: within.until }
    : undefined;
}

/** Whose results a key names: an entity, in one environment (or `dashboard` for users). */
export interface IdempotencyScope {
  entityId: string;
  scope: "live" | "test" | "dashboard";
  key: string;
}

/** Admits the first request with a key; {@link IdempotencyResults.begin} hands it out. */
export interface IdempotencyTicket {
  /** Records the response durably (resolves after the commit), then frees the key. */
  complete(response: StoredResponse, metadata: EventMetadata): Promise<void>;
  /**
   * Runs `effect` (synchronous: a handler's writes and the value it answers with) and records
   * the response `responseOf` makes of its value in the SAME transaction — one unit of the next
   * group commit — so the effect and its record commit together or not at all; `responseOf`
   * returns undefined for a response that is not to be recorded. Resolves with the effect's
   * value once that is durable, and frees the key. If `effect` throws, nothing is written and
   * the ticket stays open (the error's answer may still be recorded with `complete`); if the
   * record fails, the effect is undone too and {@link ResultNotRecordedError} is thrown.
   * Both functions may run twice (see EventStore.atomicallyGrouped).
   */
  completeWith<T>(
    effect: () => T,
    responseOf: (value: T) => StoredResponse | undefined,
    metadata: EventMetadata,
  ): Promise<T>;
  /** Frees the key without recording anything (the response is not to be replayed). */
  release(): void;
}

/** The response could not be recorded, so the effect recorded with it was rolled back. */
export class ResultNotRecordedError extends Error {
  constructor(cause: unknown) {
    super("the response could not be recorded; its effect was rolled back", { cause });
    this.name = "ResultNotRecordedError";
  }
}

/** What {@link IdempotencyResults.begin} decided. */
export type Admission =
  | { kind: "replay"; response: StoredResponse }
  | { kind: "mismatch" }
  | { kind: "in_use" }
  | { kind: "run"; ticket: IdempotencyTicket };

/** Options of {@link IdempotencyResults}. */
export interface IdempotencyResultsOptions {
  /** How long a result is replayed. */
  ttlSeconds: number;
  /** The clock. */
  now: () => Date;
  /** Decrypted results kept in memory for fast replays (default 10,000 or 64 MiB). */
  cacheEntries?: number;
  cacheBytes?: number;
}

interface CachedResult {
  fingerprint: string;
  expiresAtMs: number;
  response: StoredResponse;
}

interface ResultRow {
  fingerprint: string;
  position: number;
  stream_version: number;
  expires_at: number;
  data_key_id: string;
}

/** A result's associated data: it opens only for its own scope and fingerprint. */
function sealContext(scopeKey: string, fingerprint: string): string {
  return `${scopeKey}\n${fingerprint}`;
}

/** Expired results forgotten per transaction (and per turn of the event loop) by a sweep. */
export const SWEEP_BATCH = 2_000;

const SWEEP_RESULTS =
  "DELETE FROM idempotency_results WHERE rowid IN (SELECT rowid FROM idempotency_results WHERE expires_at <= ? LIMIT ?)";
const SWEEP_DATA_KEYS =
  "DELETE FROM idempotency_data_keys WHERE rowid IN (SELECT rowid FROM idempotency_data_keys WHERE expires_at <= ? LIMIT ?)";

/** The recorded results over the log, with the in-process exactly-once admission. */
export class IdempotencyResults {
  readonly #sql: SqlConnection;
  readonly #store: EventStore;
  readonly #cipher: ResultCipher;
  readonly #ttlMs: number;
  readonly #now: () => Date;
  /** Keys whose first request is running here, with that request's fingerprint. */
  readonly #inFlight = new Map<string, string>();
  /** Recorded results by scope key, decrypted, for replays without SQL. */
  readonly #cache: LruMap<string, CachedResult>;

  constructor(
    sql: SqlConnection,
    store: EventStore,
    cipher: ResultCipher,
    options: IdempotencyResultsOptions,
  ) {
    this.#sql = sql;
    this.#store = store;
    this.#cipher = cipher;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#now = options.now;
    this.#cache = new LruMap({
      maxEntries: options.cacheEntries ?? 10_000,
      maxWeight: options.cacheBytes ?? 64 * 1024 ** 2,
      weigh: (cached) => cached.response.body?.length ?? 0,
    });
  }

  /**
   * Decides what a request with this key and fingerprint gets. Exactly one of any number of
   * concurrent requests with one key is handed a ticket; until it completes or releases it,
   * the others are `in_use` (or `mismatch`, if they are a different request).
   */
  begin(scope: IdempotencyScope, fingerprint: string): Admission {
    const scopeKey = idempotencyScopeKey(scope.entityId, scope.scope, scope.key);
    const running = this.#inFlight.get(scopeKey);
    if (running !== undefined) return { kind: running === fingerprint ? "in_use" : "mismatch" };

    const nowMs = this.#now().getTime();
    const cached = this.#fromCache(scopeKey, nowMs);
    if (cached) {
      if (cached.fingerprint !== fingerprint) return { kind: "mismatch" };
      return { kind: "replay", response: cached.response };
    }
    // Two small lookups, not one join: on this hot path the join cost SQLite five times more.
    const row = this.#sql
      .prepare<ResultRow>(
        "SELECT fingerprint, position, stream_version, expires_at, data_key_id FROM idempotency_results WHERE scope_key = ?",
      )
      .get(scopeKey);
    const wrappedKey =
      row && row.expires_at > nowMs
        ? this.#sql
            .prepare<{ wrapped_key: Uint8Array }>(
              "SELECT wrapped_key FROM idempotency_data_keys WHERE id = ?",
            )
            .get(row.data_key_id)?.wrapped_key
        : undefined;
    // Expired (or its data key already destroyed): the key is new again.
    if (row && wrappedKey) {
      if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
      const event = this.#sql
        .prepare<{ data: string }>("SELECT data FROM events WHERE position = ?")
        .get(row.position) as { data: string };
      const { sealed } = JSON.parse(event.data) as { sealed: string };
      const response = parseStoredResponse(
        this.#opened(
          sealed,
          wrappedKey,
          row.data_key_id,
          sealContext(scopeKey, fingerprint),
          row.expires_at,
        ),
      );
      this.#cache.set(scopeKey, { fingerprint, expiresAtMs: row.expires_at, response });
      return { kind: "replay", response };
    }

    this.#inFlight.set(scopeKey, fingerprint);
    // With no row the key was never used, or its results were swept long ago; this process
    // admits one request per key at a time, so no version check is needed then.
    return {
      kind: "run",
      ticket: this.#ticket(
        scope,
        scopeKey,
        fingerprint,
        row?.stream_version ?? NO_CONCURRENCY_CHECK,
      ),
    };
  }

  #ticket(
    scope: IdempotencyScope,
    scopeKey: string,
    fingerprint: string,
    streamVersion: ExpectedStreamVersion,
  ): IdempotencyTicket {
    let open = true;
    const release = () => {
      if (open) this.#inFlight.delete(scopeKey);
      open = false;
    };
    const use = () => {
      if (!open) throw new Error("this idempotency ticket was already used");
    };
    const result = (response: StoredResponse, metadata: EventMetadata) =>
      this.#resultAppend(scope, scopeKey, fingerprint, streamVersion, response, metadata);
    return {
      release,
      complete: async (response, metadata) => {
        use();
        try {
          const append = result(response, metadata);
          await this.#store.appendToStreamGrouped(append.streamId, append.events, append.options);
          this.#cache.set(scopeKey, append.cached);
        } finally {
          release();
        }
      },
      completeWith: async (effect, responseOf, metadata) => {
        use();
        let cached: CachedResult | undefined;
        const value = await this.#store.atomicallyGrouped(() => {
          cached = undefined; // the unit may run twice
          const value = effect();
          const response = responseOf(value);
          if (response === undefined) return value;
          const append = result(response, metadata);
          try {
            this.#store.appendToStream(append.streamId, append.events, append.options);
          } catch (error) {
            throw new ResultNotRecordedError(error);
          }
          cached = append.cached;
          return value;
        });
        if (cached) this.#cache.set(scopeKey, cached);
        release();
        return value;
      },
    };
  }

  /** The append that records `response`: its event, its data key, and its cached copy. */
  #resultAppend(
    scope: IdempotencyScope,
    scopeKey: string,
    fingerprint: string,
    streamVersion: ExpectedStreamVersion,
    response: StoredResponse,
    metadata: EventMetadata,
  ) {
    const nowMs = this.#now().getTime();
    const expiresAtMs = nowMs + this.#ttlMs;
    const dataKeyId = newId("dk", nowMs);
    const { wrappedKey, sealed } = this.#cipher.seal(
      serialiseStoredResponse(response),
      dataKeyId,
      sealContext(scopeKey, fingerprint),
    );
    const event = {
      type: "idempotency.recorded" as const,
      data: {
        idempotency_key: scope.key,
        entity_id: scope.entityId,
        scope: scope.scope,
        fingerprint,
        expires_at: new Date(expiresAtMs).toISOString(),
        data_key_id: dataKeyId,
        sealed,
      },
    };
    const options: AppendOptions = {
      expectedStreamVersion: streamVersion,
      metadata,
      alsoInTransaction: () =>
        this.#sql
          .prepare(
            "INSERT INTO idempotency_data_keys (id, wrapped_key, expires_at) VALUES (?, ?, ?)",
          )
          .run(dataKeyId, wrappedKey, expiresAtMs),
    };
    const cached: CachedResult = { fingerprint, expiresAtMs, response };
    return { streamId: `idempotency:${scopeKey}`, events: [event], options, cached };
  }

  /** The sealed result opened, or an error that tells the operator why it cannot be. */
  #opened(
    sealed: string,
    wrappedKey: Uint8Array,
    dataKeyId: string,
    context: string,
    expiresAtMs: number,
  ): Buffer {
    try {
      return this.#cipher.open(sealed, wrappedKey, dataKeyId, context);
    } catch (error) {
      throw new Error(
        `${UNREADABLE} This retry is answered 500 and never run again, until the result expires at ${new Date(expiresAtMs).toISOString()}.`,
        { cause: error },
      );
    }
  }

  /**
   * The recorded results within their window that this results key cannot open — the database
   * restored without its `keygate-results.key`, or `KEYGATE_RESULTS_KEY` changed — as a warning
   * to give at start; undefined when the newest one opens (or there is none).
   */
  unreadableResults(): Error | undefined {
    const nowMs = this.#now().getTime();
    const newest = this.#sql
      .prepare<{ id: string; wrapped_key: Uint8Array }>(
        "SELECT id, wrapped_key FROM idempotency_data_keys WHERE expires_at > ? ORDER BY expires_at DESC LIMIT 1",
      )
      .get(nowMs);
    if (!newest || this.#cipher.unwraps(newest.wrapped_key, newest.id)) return undefined;
    const within = resultsInWindow(this.#sql, nowMs) as ResultsInWindow;
    return new Error(
      `${UNREADABLE} Up to ${within.count} recorded result(s) are affected: their retries are answered 500 and never run again, until the last expires at ${new Date(within.untilMs).toISOString()}.`,
    );
  }

  #fromCache(scopeKey: string, nowMs: number): CachedResult | undefined {
    const cached = this.#cache.get(scopeKey);
    if (cached && cached.expiresAtMs <= nowMs) {
      this.#cache.delete(scopeKey);
      return undefined;
    }
    return cached;
  }

  /**
   * Forgets every expired result: its projection row, its cached copy and — the
   * crypto-shredding — its data key, after which its sealed copy in the log cannot be read.
   * Resolves with how many data keys were destroyed.
   *
   * A busy server has many to forget (a minute of results: 200,000 at 3,300 idempotent
   * requests a second, ~5 µs each), so they go {@link SWEEP_BATCH} at a time, one batch per
   * turn of the event loop, and requests are served in between instead of waiting a second.
   * Expired results are never replayed meanwhile: lookups check the expiry themselves.
   */
  async sweep(): Promise<number> {
    const nowMs = this.#now().getTime();
    for (const [key, cached] of this.#cache)
      if (cached.expiresAtMs <= nowMs) this.#cache.delete(key);
    let destroyed = 0;
    for (;;) {
      const batch = this.#sql.transaction(() => ({
        results: this.#sql.prepare(SWEEP_RESULTS).run(nowMs, SWEEP_BATCH).changes,
        keys: this.#sql.prepare(SWEEP_DATA_KEYS).run(nowMs, SWEEP_BATCH).changes,
      }));
      destroyed += batch.keys;
      if (batch.results < SWEEP_BATCH && batch.keys < SWEEP_BATCH) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // The write-ahead log still holds copies of the pages the keys were on: fold it into the
    // database and truncate it, so those copies go too.
    if (destroyed > 0) this.#sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return destroyed;
  }

  /** How many results are cached in memory (for tests and metrics). */
  get cachedResults(): number {
    return this.#cache.size;
  }
}

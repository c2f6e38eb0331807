/**
 * The event store: appends with optimistic concurrency, the hash chain and the inline
 * projections in ONE synchronous SQLite transaction, and reads streams or the whole log
 * with every event validated and upcast. Signatures follow Emmett's eventStore.ts.
 */

import { setImmediate } from "node:timers";
import {
  currentSchemaVersion,
  type KeygateEvent,
  upcastStoredEvent,
  validateForAppend,
} from "../../events/index.ts";
import type { SqlConnection } from "../db/sql.ts";
import { CommitFailedError, transactionOrCommitFailed } from "./commit-failed-error.ts";
import {
  assertExpectedVersion,
  type ExpectedStreamVersion,
  STREAM_DOES_NOT_EXIST,
} from "./expected-version.ts";
import { canonicalJson, chainHash, GENESIS_HASH } from "./hash-chain.ts";
import type { EventMetadata, InlineProjection, RecordedEvent } from "./recorded-event.ts";

/** Options of one append. */
export interface AppendOptions {
  /** What the caller believes the stream's version is. */
  expectedStreamVersion: ExpectedStreamVersion;
  /** Actor and request id, recorded with every event of the append. */
  metadata: EventMetadata;
  /**
   * Writes outside the log that must commit with these events or not at all (a recorded
   * result's data key). Runs inside the append's transaction, after the projections.
   */
  alsoInTransaction?: (events: readonly RecordedEvent[]) => void;
}

/** What an append did. */
export interface AppendResult {
  /** The stream's version after the append (pass it as the next expected version). */
  nextExpectedStreamVersion: number;
  /** The global position of the last event written (0 if none were). */
  lastPosition: number;
  /** The events as recorded. */
  events: RecordedEvent[];
}

/** A row of the events table as SQLite returns it. */
export interface EventRow {
  position: number;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  recorded_at: string;
  prev_hash: string;
  hash: string;
}

/** Options of an {@link EventStore}. */
export interface EventStoreOptions {
  /** Read models updated inside every append. */
  projections?: readonly InlineProjection[];
  /** The clock; injected so tests control `recorded_at`. */
  now?: () => Date;
}

/** Work queued for the next group commit: an append, or a unit of several writes. */
interface QueuedWork {
  /** Runs inside the batch's transaction; returns what to resolve with and the events written. */
  run: () => Done;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

interface Done {
  value: unknown;
  events: readonly RecordedEvent[];
}

type Outcome = { ok: true; done: Done } | { ok: false; error: unknown };

/** Called after an append has committed, with the events it wrote. */
export type CommitListener = (events: readonly RecordedEvent[]) => void;

/** Turns a stored row into a validated, upcast event. Throws EventSchemaError on bad data. */
export function eventFromRow(row: EventRow): RecordedEvent {
  const data = upcastStoredEvent(row.type, row.schema_version, JSON.parse(row.data));
  return {
    type: row.type,
    data,
    position: row.position,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    schemaVersion: row.schema_version,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    hash: row.hash,
  } as RecordedEvent;
}

/**
 * The position of the last event in the log on `sql` (0 for an empty log): any connection's,
 * such as `audit verify`'s or a backup copy's, not only the store's own.
 */
export function headPositionOf(sql: SqlConnection): number {
  return sql.prepare<{ p: number | null }>("SELECT MAX(position) AS p FROM events").get()?.p ?? 0;
}

/** The append-only, hash-chained event log over one SQLite connection. */
export class EventStore {
  readonly #sql: SqlConnection;
  readonly #projections: readonly InlineProjection[];
  readonly #now: () => Date;
  readonly #listeners = new Set<CommitListener>();
  readonly #queue: QueuedWork[] = [];
  /**
   * The chain head while a group commit holds the write lock: each append of the batch
   * starts where the previous one ended, without reading it back. Undefined otherwise.
   */
  #batchHead: { position: number; hash: string } | undefined;
  /**
   * While a unit of {@link EventStore.atomicallyGrouped} runs: the events its appends wrote,
   * told to the listeners only once the batch has committed. Undefined otherwise.
   */
  #unitEvents: RecordedEvent[] | undefined;

  constructor(sql: SqlConnection, options: EventStoreOptions = {}) {
    this.#sql = sql;
    this.#projections = options.projections ?? [];
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Appends `events` to `streamId` if its version meets `expectedStreamVersion`, chaining
   * each to the log's head and running every inline projection, all in one transaction:
   * if anything throws, nothing is written. Returns after the commit.
   *
   * SQLite's own failures (a full disk, an I/O error, the write lock held past the busy
   * timeout) are thrown as {@link CommitFailedError}, which says that nothing was written and
   * carries SQLite's error as its cause; any other (a version conflict, a unique value taken,
   * an event its schema refuses) as it is.
   */
  appendToStream(
    streamId: string,
    events: readonly KeygateEvent[],
    options: AppendOptions,
  ): AppendResult {
    const result = transactionOrCommitFailed(this.#sql, () =>
      this.#appendInTransaction(streamId, events, options),
    );
    this.#notify(result.events);
    return result;
  }

  /**
   * The same append with group commit: every append queued in the same turn of the event
   * loop shares one SQLite commit, each inside its own savepoint, so each keeps its own
   * expected-version check and all-or-nothing effect, and one failing never undoes another.
   * The promise settles only after the shared commit, so a resolved append is durable.
   */
  appendToStreamGrouped(
    streamId: string,
    events: readonly KeygateEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    return this.#enqueue(() => {
      const result = this.#appendInTransaction(streamId, events, options);
      return { value: result, events: result.events };
    });
  }

  /**
   * Runs `fn` — several appends ({@link appendToStream}) and other writes — as ONE unit of the
   * next group commit: all of it commits, or (when `fn` throws) none of it, and one unit
   * failing never undoes another. Resolves with what `fn` returned once the shared commit is
   * durable; the listeners hear of its events only then, never of events a rollback took back.
   * `fn` must be synchronous and may run twice (a batch in which something failed is redone),
   * so it writes nothing but SQL until it returns.
   */
  atomicallyGrouped<T>(fn: () => T): Promise<T> {
    return this.#enqueue(() => {
      const events: RecordedEvent[] = [];
      this.#unitEvents = events;
      try {
        return { value: fn(), events };
      } finally {
        this.#unitEvents = undefined;
      }
    });
  }

  #enqueue<T>(run: () => Done): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: never) => void, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flushQueue());
    });
  }

  #flushQueue(): void {
    const batch = this.#queue.splice(0);
    let outcomes: Outcome[];
    try {
      // Optimistically, without savepoints: almost every batch succeeds whole.
      outcomes = this.#runBatch(batch, false);
    } catch {
      // Something failed: redo the batch with a savepoint per piece, refusing only the failures.
      try {
        outcomes = this.#runBatch(batch, true);
      } catch (error) {
        // Nothing of the batch was written: say so to every caller.
        const failure = CommitFailedError.of(error);
        for (const item of batch) item.reject(failure);
        return;
      }
    }
    this.#notify(outcomes.flatMap((o) => (o.ok ? o.done.events : [])));
    batch.forEach((item, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) item.resolve(outcome.done.value as never);
      else item.reject(outcome.error);
    });
  }

  /**
   * Runs a batch in one transaction; with `isolate`, each piece of work in its own savepoint.
   * Throws {@link CommitFailedError} if SQLite ends the transaction itself on the way (a full
   * disk, an I/O error): what ran before is undone with it, and what would run after it would
   * commit on its own, outside the batch, unknown to its caller and to the listeners.
   */
  #runBatch(batch: readonly QueuedWork[], isolate: boolean): Outcome[] {
    return this.#sql.transaction(() => {
      this.#batchHead = this.#chainHead();
      try {
        return batch.map((item): Outcome => {
          const outcome = isolate
            ? this.#runIsolated(item)
            : { ok: true as const, done: item.run() };
          if (!this.#sql.inTransaction())
            throw CommitFailedError.of(
              outcome.ok ? new Error("the transaction ended") : outcome.error,
            );
          return outcome;
        });
      } finally {
        this.#batchHead = undefined;
      }
    });
  }

  /** Runs one piece of a batch in a savepoint of its own; its failure undoes it alone. */
  #runIsolated(item: QueuedWork): Outcome {
    try {
      return { ok: true, done: this.#sql.transaction(item.run) };
    } catch (error) {
      if (this.#sql.inTransaction()) this.#batchHead = this.#chainHead(); // the savepoint rolled back
      return { ok: false, error };
    }
  }

  /** The last event's position and hash (0 and the genesis hash for an empty log). */
  #chainHead(): { position: number; hash: string } {
    return (
      this.#sql
        .prepare<{ position: number; hash: string }>(
          "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
        )
        .get() ?? { position: 0, hash: GENESIS_HASH }
    );
  }

  #notify(events: readonly RecordedEvent[]): void {
    if (this.#unitEvents) this.#unitEvents.push(...events);
    else if (events.length > 0) for (const listener of this.#listeners) listener(events);
  }

  #appendInTransaction(
    streamId: string,
    events: readonly KeygateEvent[],
    { expectedStreamVersion, metadata, alsoInTransaction }: AppendOptions,
  ): AppendResult {
    const sql = this.#sql;
    const recordedAt = this.#now().toISOString();
    // A new stream is claimed by inserting its row, which its primary key refuses if the stream
    // exists: one statement instead of a read and then a write.
    const claimed =
      expectedStreamVersion === STREAM_DOES_NOT_EXIST &&
      events.length > 0 &&
      this.#claimStream(streamId, events.length, recordedAt);
    const current = claimed ? undefined : this.streamVersion(streamId);
    assertExpectedVersion(streamId, current, expectedStreamVersion);
    if (events.length === 0)
      return { nextExpectedStreamVersion: current ?? 0, lastPosition: 0, events: [] };

    const head = this.#batchHead ?? this.#chainHead();
    let position = head.position;
    let prevHash = head.hash;
    let version = current ?? 0;
    const metadataJson = canonicalJson(metadata);
    const insert = sql.prepare(
      "INSERT INTO events (position, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const recorded: RecordedEvent[] = [];
    for (const event of events) {
      validateForAppend(event.type, event.data);
      position += 1;
      version += 1;
      const fields = {
        position,
        streamId,
        streamVersion: version,
        type: event.type,
        schemaVersion: currentSchemaVersion(event.type),
        data: canonicalJson(event.data),
        metadata: metadataJson,
        recordedAt,
      };
      const hash = chainHash(prevHash, fields);
      insert.run(
        position,
        streamId,
        version,
        event.type,
        fields.schemaVersion,
        fields.data,
        metadataJson,
        recordedAt,
        prevHash,
        hash,
      );
      recorded.push({
        ...event,
        position,
        streamId,
        streamVersion: version,
        schemaVersion: fields.schemaVersion,
        metadata,
        recordedAt,
        prevHash,
        hash,
      } as RecordedEvent);
      prevHash = hash;
    }

    // A claimed stream's row was written above, at its final version.
    if (current === undefined && !claimed) {
      sql
        .prepare("INSERT INTO streams (stream_id, version, updated_at) VALUES (?, ?, ?)")
        .run(streamId, version, recordedAt);
    } else if (current !== undefined) {
      const swapped = sql
        .prepare(
          "UPDATE streams SET version = ?, updated_at = ? WHERE stream_id = ? AND version = ?",
        )
        .run(version, recordedAt, streamId, current);
      // BEGIN IMMEDIATE already serialises writers; the compare-and-swap is the backstop.
      if (swapped.changes !== 1) assertExpectedVersion(streamId, undefined, current);
    }

    for (const event of recorded)
      for (const projection of this.#projections) projection.apply(event);
    alsoInTransaction?.(recorded);
    if (this.#batchHead) this.#batchHead = { position, hash: prevHash };
    return { nextExpectedStreamVersion: version, lastPosition: position, events: recorded };
  }

  /**
   * Inserts a new stream's row at `version`; false (nothing written) when the stream already
   * exists, so the caller's expected-version check refuses the append with the usual error.
   */
  #claimStream(streamId: string, version: number, recordedAt: string): boolean {
    try {
      this.#sql
        .prepare("INSERT INTO streams (stream_id, version, updated_at) VALUES (?, ?, ?)")
        .run(streamId, version, recordedAt);
      return true;
    } catch (error) {
      if (this.streamVersion(streamId) !== undefined) return false;
      throw error;
    }
  }

  /** The stream's current version, or undefined if it has no events. */
  streamVersion(streamId: string): number | undefined {
    return this.#sql
      .prepare<{ version: number }>("SELECT version FROM streams WHERE stream_id = ?")
      .get(streamId)?.version;
  }

  /** Every event of one stream, in order. */
  readStream(streamId: string): RecordedEvent[] {
    return this.#sql
      .prepare<EventRow>("SELECT * FROM events WHERE stream_id = ? ORDER BY stream_version")
      .all(streamId)
      .map(eventFromRow);
  }

  /** Folds a stream into state with `evolve`, starting from `initial`. */
  aggregateStream<S>(
    streamId: string,
    evolve: (state: S, event: RecordedEvent) => S,
    initial: S,
  ): { state: S; version: number } {
    let state = initial;
    let version = 0;
    for (const event of this.readStream(streamId)) {
      state = evolve(state, event);
      version = event.streamVersion;
    }
    return { state, version };
  }

  /** Up to `limit` events after global position `after`, in order. */
  readAll({ after = 0, limit = 1000 }: { after?: number; limit?: number } = {}): RecordedEvent[] {
    return this.#sql
      .prepare<EventRow>("SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?")
      .all(after, limit)
      .map(eventFromRow);
  }

  /** Every event after `after`, one at a time, in constant memory. */
  *iterateAll(after = 0): IterableIterator<RecordedEvent> {
    const rows = this.#sql
      .prepare<EventRow>("SELECT * FROM events WHERE position > ? ORDER BY position")
      .iterate(after);
    for (const row of rows) yield eventFromRow(row);
  }

  /** The position of the last event (0 for an empty log). */
  headPosition(): number {
    return headPositionOf(this.#sql);
  }

  /** Subscribes to committed appends; returns the unsubscribe function. */
  subscribe(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

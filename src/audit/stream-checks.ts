/**
 * The per-stream half of `audit verify`: each stream's versions run 1..n, in log order, and
 * end where the streams table says; every stream in the log has a row there and every row
 * has events. Two scans in stream-id order, merged as they go: the `(stream_id,
 * stream_version)` index, which holds each event's position, and the streams table's
 * primary key — both read in bounded batches, so memory stays flat however many streams
 * there are. The index is derived data, but the rows it points at are the ones the hash
 * chain vouches for (verify-range.ts), and a stream found wrong is then walked row by row in
 * log order to name the first position that breaks it.
 */
import type { SqlConnection, SqlValue } from "../db/sql.ts";
import type { Problem } from "./verify-range.ts";

/** Rows per read of either scan. */
const BATCH = 4096;

const FIRST_EVENTS =
  "SELECT stream_id, stream_version, position FROM events ORDER BY stream_id, stream_version LIMIT ?";
const EVENTS_AFTER =
  "SELECT stream_id, stream_version, position FROM events WHERE (stream_id, stream_version) > (?, ?) ORDER BY stream_id, stream_version LIMIT ?";
const FIRST_STREAMS = "SELECT stream_id, version FROM streams ORDER BY stream_id LIMIT ?";
const STREAMS_AFTER =
  "SELECT stream_id, version FROM streams WHERE stream_id > ? ORDER BY stream_id LIMIT ?";

/**
 * Checks every stream against the log and the streams table, in one read snapshot (appends
 * made meanwhile are either all seen or none). `events` is how many events the hash chain
 * verified: a streams-table problem is reported just past them, as it belongs to no event.
 * A broken stream outranks a streams-table problem.
 */
export function streamProblem(sql: SqlConnection, events: number): Problem | undefined {
  sql.exec("BEGIN");
  try {
    const { broken, table } = scanStreams(sql, events);
    return broken === undefined ? table : firstBreak(sql, broken);
  } finally {
    sql.exec("COMMIT");
  }
}

/**
 * One pass over both scans. `broken`: of the streams whose versions do not run 1..n in log
 * order, the one where that shows at the lowest position; `table`: the first streams-table
 * problem in stream-id order.
 */
function scanStreams(
  sql: SqlConnection,
  events: number,
): { broken: string | undefined; table: Problem | undefined } {
  const [firstEvents, eventsAfter] = [sql.prepare(FIRST_EVENTS), sql.prepare(EVENTS_AFTER)];
  const log = new BatchCursor((last) =>
    last
      ? eventsAfter.values(last[0] as SqlValue, last[1] as SqlValue, BATCH)
      : firstEvents.values(BATCH),
  );
  const [firstStreams, streamsAfter] = [sql.prepare(FIRST_STREAMS), sql.prepare(STREAMS_AFTER)];
  const rows = new BatchCursor((last) =>
    last ? streamsAfter.values(last[0] as SqlValue, BATCH) : firstStreams.values(BATCH),
  );
  let broken: { id: string; at: number } | undefined;
  let table: Problem | undefined;
  const tableProblem = (position: number, problem: string) => {
    table ??= { position, problem };
  };
  /** A `streams` row whose version is not the count of its stream's events (0: it has none). */
  const miscounted = (id: SqlValue | undefined, count: number, said: SqlValue | undefined) =>
    tableProblem(
      events + 1,
      `stream ${id} has ${count} events in the log but the streams table says ${said}`,
    );
  /** Holds the streams table to one stream of the log, whose last version is `version`. */
  const endOfStream = (id: string, version: number) => {
    for (
      let row = rows.row;
      row && row[0] !== id && codePointOrder(String(row[0]), id) < 0;
      row = rows.next()
    )
      miscounted(row[0], 0, row[1]);
    const row = rows.row;
    if (row?.[0] !== id)
      return tableProblem(events, `stream ${id} has events but no row in the streams table`);
    if (row[1] !== version) miscounted(id, version, row[1]);
    rows.next();
  };
  let stream: string | undefined;
  let due = 1;
  let after = 0;
  for (let row = log.row; row; row = log.next()) {
    const id = String(row[0]);
    const position = row[2] as number;
    if (id !== stream) {
      if (stream !== undefined) endOfStream(stream, due - 1);
      stream = id;
      due = 1;
      after = 0;
    }
    // With the unique index, versions in index order are 1, 2, 3… exactly when none is
    // missing; in log order too when each sits after the one before.
    if ((row[1] !== due || position < after) && !(broken && broken.at <= position))
      broken = { id, at: position };
    due++;
    after = position;
  }
  if (stream !== undefined) endOfStream(stream, due - 1);
  for (let row = rows.row; row; row = rows.next()) miscounted(row[0], 0, row[1]);
  return { broken: broken?.id, table };
}

/** The rows of an ordered query, read {@link BATCH} at a time after the last one read. */
class BatchCursor {
  #rows: SqlValue[][] = [];
  #index = 0;
  #ended = false;

  /** `read(last)`: the next batch after row `last` (the first batch when it is undefined). */
  constructor(private readonly read: (last: SqlValue[] | undefined) => SqlValue[][]) {}

  /** The current row; undefined past the end. */
  get row(): SqlValue[] | undefined {
    if (this.#index === this.#rows.length && !this.#ended) {
      this.#rows = this.read(this.#rows[this.#index - 1]);
      this.#index = 0;
      this.#ended = this.#rows.length < BATCH;
    }
    return this.#rows[this.#index];
  }

  /** Moves to the next row and returns it. */
  next(): SqlValue[] | undefined {
    this.#index++;
    return this.row;
  }
}

/** A code unit's rank in code point order: surrogates (U+10000 and up) after U+E000–U+FFFF. */
const rank = (unit: number): number =>
  unit >= 0xd800 && unit < 0xe000 ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit;

/**
 * Compares strings the way SQLite's BINARY collation compares their UTF-8 bytes: by code
 * point, which `<` on JavaScript's UTF-16 code units is not, past U+FFFF.
 */
export function codePointOrder(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Walks one stream in log order to the first event whose version is not the one due. */
function firstBreak(sql: SqlConnection, streamId: string): Problem {
  const rows = sql
    .prepare<{ position: number; stream_version: number }>(
      "SELECT position, stream_version FROM events WHERE stream_id = ? ORDER BY position",
    )
    .all(streamId);
  let due = 1;
  for (const row of rows) {
    if (row.stream_version !== due)
      return {
        position: row.position,
        problem: `stream ${streamId} is at version ${row.stream_version} where ${due} was due`,
      };
    due++;
  }
  // Unreachable for a stream the scan flagged, unless the index disagrees with the table.
  return {
    position: rows.at(-1)?.position ?? 0,
    problem: `stream ${streamId}: its index entries disagree with its events`,
  };
}

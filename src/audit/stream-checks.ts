/**
 * The per-stream half of `audit verify`, asked of SQLite as whole-table queries over the
 * (stream_id, stream_version) index rather than tracked event by event: each stream's
 * versions run 1..n, in log order, and end where the streams table says; every stream in the
 * log has a row there and every row has events. The index is derived data, but the rows it
 * points at are the ones the hash chain vouches for (verify-range.ts), and a stream found
 * wrong is then walked row by row to name the first position that breaks it.
 */
import type { SqlConnection } from "../db/sql.ts";
import type { Problem } from "./verify-range.ts";

/** The first stream whose versions do not run 1..n (given the unique index: count = max, min = 1). */
const NOT_ONE_TO_N =
  "SELECT stream_id FROM events GROUP BY stream_id HAVING COUNT(*) != MAX(stream_version) OR MIN(stream_version) != 1 LIMIT 1";

/** The first stream (of those with more than one event) whose versions go against log order. */
const OUT_OF_ORDER = `WITH multi AS (SELECT stream_id FROM events GROUP BY stream_id HAVING COUNT(*) > 1)
SELECT a.stream_id FROM multi JOIN events a ON a.stream_id = multi.stream_id
JOIN events b ON b.stream_id = a.stream_id AND b.stream_version = a.stream_version + 1
WHERE b.position < a.position LIMIT 1`;

/** The first streams-table row whose version is not its stream's last (NULL: no events). */
const TABLE_MISMATCH = `SELECT stream_id, version, found FROM (
  SELECT s.stream_id, s.version,
    (SELECT MAX(stream_version) FROM events e WHERE e.stream_id = s.stream_id) AS found
  FROM streams s) WHERE found IS NOT version LIMIT 1`;

const COUNTS =
  "SELECT (SELECT COUNT(DISTINCT stream_id) FROM events) AS in_log, (SELECT COUNT(*) FROM streams) AS in_table";

const ORPHAN =
  "SELECT DISTINCT stream_id FROM events e WHERE NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream_id = e.stream_id) LIMIT 1";

/**
 * Checks every stream against the log and the streams table, in one read snapshot (appends
 * made meanwhile are either all seen or none). `events` is how many events the hash chain
 * verified: a streams-table problem is reported just past them, as it belongs to no event.
 */
export function streamProblem(sql: SqlConnection, events: number): Problem | undefined {
  sql.exec("BEGIN");
  try {
    const broken = [NOT_ONE_TO_N, OUT_OF_ORDER]
      .map((query) => sql.prepare<{ stream_id: string }>(query).get()?.stream_id)
      .filter((id): id is string => id !== undefined)
      .map((id) => firstBreak(sql, id))
      .sort((a, b) => a.position - b.position);
    if (broken[0]) return broken[0];
    const mismatch = sql
      .prepare<{ stream_id: string; version: number; found: number | null }>(TABLE_MISMATCH)
      .get();
    if (mismatch)
      return {
        position: events + 1,
        problem: `stream ${mismatch.stream_id} has ${mismatch.found ?? 0} events in the log but the streams table says ${mismatch.version}`,
      };
    const counts = sql.prepare<{ in_log: number; in_table: number }>(COUNTS).get();
    if (counts && counts.in_log !== counts.in_table) {
      const orphan = sql.prepare<{ stream_id: string }>(ORPHAN).get()?.stream_id;
      return {
        position: events,
        problem: `stream ${orphan} has events but no row in the streams table`,
      };
    }
    return undefined;
  } finally {
    sql.exec("COMMIT");
  }
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
  // Unreachable for a stream the queries flagged, unless the index disagrees with the table.
  return {
    position: rows.at(-1)?.position ?? 0,
    problem: `stream ${streamId}: its index entries disagree with its events`,
  };
}

/**
 * `keygate audit export` and `keygate audit timeline`: the log as JSON Lines, streamed in
 * constant memory, and one key's life in order.
 *
 * An exported line is the stored event, its `data` and `metadata` written as the exact
 * canonical JSON the hash covers — so a full export (no filters) is enough to recompute the
 * whole chain (docs/audit.md has a verifier in Python).
 */
import type { SqlConnection, SqlValue } from "../db/sql.ts";
import type { EventRow } from "../store/event-store.ts";

/** Which events an export covers. */
export interface ExportFilter {
  /** Only events after this position. */
  after?: number;
  streamId?: string;
  type?: string;
}

/** One event as a JSON line (with its newline). */
export function exportLine(row: EventRow): string {
  return `{"position":${row.position},"stream_id":${JSON.stringify(row.stream_id)},"stream_version":${row.stream_version},"type":${JSON.stringify(row.type)},"schema_version":${row.schema_version},"data":${row.data},"metadata":${row.metadata},"recorded_at":${JSON.stringify(row.recorded_at)},"prev_hash":"${row.prev_hash}","hash":"${row.hash}"}\n`;
}

/** The events a filter selects, in log order, one row at a time. */
export function exportedRows(
  sql: SqlConnection,
  filter: ExportFilter = {},
): IterableIterator<EventRow> {
  const where = ["position > ?"];
  const params: SqlValue[] = [filter.after ?? 0];
  if (filter.streamId !== undefined) {
    where.push("stream_id = ?");
    params.push(filter.streamId);
  }
  if (filter.type !== undefined) {
    where.push("type = ?");
    params.push(filter.type);
  }
  return sql
    .prepare<EventRow>(
      `SELECT position, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, prev_hash, hash FROM events WHERE ${where.join(" AND ")} ORDER BY position`,
    )
    .iterate(...params);
}

/** The page cache (KiB) while exporting. */
const EXPORT_CACHE_KIB = 2048;

/** Something lines can be written to, that may ask the writer to wait. */
export interface LineSink {
  write(chunk: string): unknown;
  flush(): unknown;
}

/** Writes the selected events to `sink`, flushing every `batch` lines; returns how many. */
export async function writeExport(
  sql: SqlConnection,
  sink: LineSink,
  filter: ExportFilter = {},
  batch = 1000,
): Promise<number> {
  // A sequential scan gains nothing from a large page cache; a small one keeps memory flat.
  const previousCache =
    sql.prepare<{ cache_size: number }>("PRAGMA cache_size").get()?.cache_size ?? -2000;
  sql.exec(`PRAGMA cache_size = -${EXPORT_CACHE_KIB}`);
  try {
    let count = 0;
    for (const row of exportedRows(sql, filter)) {
      sink.write(exportLine(row));
      count++;
      if (count % batch === 0) await sink.flush();
    }
    await sink.flush();
    return count;
  } finally {
    sql.exec(`PRAGMA cache_size = ${previousCache}`);
  }
}

/** Fields a person reading a timeline has no use for: ids already known, hashes, salts. */
const HIDDEN_IN_TIMELINE = new Set(["key_id", "secret_hash", "previous_secret_hash", "salt"]);

/** One line of a key's timeline, for people. */
export function timelineLine(row: EventRow): string {
  const data = JSON.parse(row.data) as Record<string, unknown>;
  const metadata = JSON.parse(row.metadata) as { actor?: string; request_id?: string | null };
  const details = Object.entries(data)
    .filter(([name]) => !HIDDEN_IN_TIMELINE.has(name))
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(" ");
  return `${row.recorded_at}  v${row.stream_version}  ${row.type.padEnd(20)}  by ${metadata.actor ?? "?"}${metadata.request_id ? ` (${metadata.request_id})` : ""}  ${details}`.trimEnd();
}

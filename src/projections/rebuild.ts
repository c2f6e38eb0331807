/**
 * Rebuilding read models: truncate a projection's tables and replay the whole log into it,
 * in one transaction, so readers never see a half-built model. At start-up only projections
 * whose version changed are rebuilt — there is no full replay on an ordinary start.
 */
import type { SqlConnection } from "../db/sql.ts";
import { type EventRow, eventFromRow } from "../store/event-store.ts";
import type { InlineProjection } from "../store/recorded-event.ts";
import { apiKeysProjection } from "./api-keys.ts";
import { entitiesProjection } from "./entities.ts";
import { eventViewersProjection } from "./event-viewers.ts";
import { idempotencyResultsProjection } from "./idempotency-results.ts";
import { usersProjection } from "./users.ts";

/** Every projection Keygate maintains, bound to a connection. */
export function allProjections(sql: SqlConnection): InlineProjection[] {
  return [
    entitiesProjection(sql),
    apiKeysProjection(sql),
    usersProjection(sql),
    idempotencyResultsProjection(sql),
    // Last: it reads the entity, key and user rows the others have just written.
    eventViewersProjection(sql),
  ];
}

/** What a rebuild did. */
export interface RebuildReport {
  projections: string[];
  events: number;
  throughPosition: number;
}

/** Page cache for a rebuild (KiB): enough to hold the key B-trees of a million keys. */
const REBUILD_CACHE_KIB = 1024 * 1024;
/** Memory-map window for a rebuild: the log is read through it, not through the page cache. */
const REBUILD_MMAP_BYTES = 4 * 1024 ** 3;

/**
 * Truncates the given projections' tables and replays every event into them.
 *
 * Secondary indexes are dropped for the replay and recreated afterwards (one sorted build
 * instead of a million random inserts), the page cache is raised for the duration and the
 * log is read through a memory map, so reading it does not evict the pages being written.
 * It is all one transaction: readers see the old model or the new one, never half of one.
 */
export function rebuildProjections(
  sql: SqlConnection,
  projections: readonly InlineProjection[],
): RebuildReport {
  const previousCache =
    sql.prepare<{ cache_size: number }>("PRAGMA cache_size").get()?.cache_size ?? -2000;
  sql.exec(`PRAGMA cache_size = -${REBUILD_CACHE_KIB}`);
  sql.exec(`PRAGMA mmap_size = ${REBUILD_MMAP_BYTES}`);
  try {
    return sql.transaction(() => replay(sql, projections));
  } finally {
    sql.exec("PRAGMA mmap_size = 0");
    sql.exec(`PRAGMA cache_size = ${previousCache}`);
    sql.exec("PRAGMA shrink_memory");
  }
}

function replay(sql: SqlConnection, projections: readonly InlineProjection[]): RebuildReport {
  const tables = projections.flatMap((p) => p.tables);
  const indexes = sql
    .prepare<{ name: string; sql: string }>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => "?").join(", ")})`,
    )
    .all(...tables);
  for (const index of indexes) sql.exec(`DROP INDEX "${index.name}"`);
  for (const table of tables) sql.exec(`DELETE FROM ${table}`);

  let events = 0;
  let position = 0;
  for (const row of sql.prepare<EventRow>("SELECT * FROM events ORDER BY position").iterate()) {
    const event = eventFromRow(row);
    for (const projection of projections) projection.apply(event);
    events += 1;
    position = event.position;
  }

  for (const index of indexes) sql.exec(index.sql);
  const mark = sql.prepare(
    "INSERT INTO projection_state (name, version, position) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position",
  );
  for (const projection of projections) mark.run(projection.name, projection.version, position);
  return { projections: projections.map((p) => p.name), events, throughPosition: position };
}

/**
 * Rebuilds the projections whose stored version differs from the code's (a new projection,
 * or one whose logic changed). Returns what was rebuilt; on an up-to-date database, nothing.
 */
export function ensureProjectionsCurrent(
  sql: SqlConnection,
  projections: readonly InlineProjection[],
): RebuildReport {
  const stored = new Map(
    sql
      .prepare<{ name: string; version: number }>("SELECT name, version FROM projection_state")
      .all()
      .map((r) => [r.name, r.version]),
  );
  const stale = projections.filter((p) => stored.get(p.name) !== p.version);
  if (stale.length === 0) return { projections: [], events: 0, throughPosition: 0 };
  return rebuildProjections(sql, stale);
}

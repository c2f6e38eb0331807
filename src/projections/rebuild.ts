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
import { usersProjection } from "./users.ts";

/** Every projection Keygate maintains, bound to a connection. */
export function allProjections(sql: SqlConnection): InlineProjection[] {
  return [entitiesProjection(sql), apiKeysProjection(sql), usersProjection(sql)];
}

/** What a rebuild did. */
export interface RebuildReport {
  projections: string[];
  events: number;
  throughPosition: number;
}

/** Truncates the given projections' tables and replays every event into them. */
export function rebuildProjections(
  sql: SqlConnection,
  projections: readonly InlineProjection[],
): RebuildReport {
  return sql.transaction(() => {
    for (const projection of projections)
      for (const table of projection.tables) sql.exec(`DELETE FROM ${table}`);
    let events = 0;
    let position = 0;
    for (const row of sql.prepare<EventRow>("SELECT * FROM events ORDER BY position").iterate()) {
      const event = eventFromRow(row);
      for (const projection of projections) projection.apply(event);
      events += 1;
      position = event.position;
    }
    const mark = sql.prepare(
      "INSERT INTO projection_state (name, version, position) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position",
    );
    for (const projection of projections) mark.run(projection.name, projection.version, position);
    return { projections: projections.map((p) => p.name), events, throughPosition: position };
  });
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

/**
 * Read model of the entity tree: each entity with its materialised path (ids from the root,
 * joined by "/") and its effective active flag (false when it or any ancestor is inactive),
 * so one row answers "may this key act?" without walking the tree.
 */
import type { SqlConnection } from "../db/sql.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";
import { type UniqueRule, writeUnique } from "./unique-writes.ts";

/** A reference is unique among the children of one parent. */
const siblingReference = (reference: string | null): UniqueRule => ({
  columns: "entities.parent_id, entities.reference",
  message: `Another child of the same parent already has reference "${reference}".`,
  param: "reference",
});

/** One platform entity per deployment (as the decider says it). */
const ONE_PLATFORM: UniqueRule = {
  columns: "entities.kind",
  message: "This deployment already has its platform entity.",
};

/** Builds the entities projection over a connection. */
export function entitiesProjection(sql: SqlConnection): InlineProjection {
  const setActive = (id: string, active: boolean, at: string) => {
    const row = sql.prepare<{ path: string }>("SELECT path FROM entities WHERE id = ?").get(id);
    if (!row) throw new KeygateError("resource_missing", `No such entity ${id}.`);
    sql
      .prepare("UPDATE entities SET active = ?, updated_at = ? WHERE id = ?")
      .run(active ? 1 : 0, at, id);
    // Recompute the effective flag for the entity and its whole subtree (found through the path
    // index: the descendants' paths sort between `path/` and `path0`).
    sql
      .prepare(
        `UPDATE entities SET effective_active = NOT EXISTS (
           SELECT 1 FROM entities a WHERE a.active = 0
             AND (entities.path = a.path OR substr(entities.path, 1, length(a.path) + 1) = a.path || '/'))
         WHERE path = ?1 OR (path > ?1 || '/' AND path < ?1 || '0')`,
      )
      .run(row.path);
  };
  return {
    name: "entities",
    // 2: renames and references (entity.updated).
    version: 2,
    tables: ["entities"],
    apply(event: RecordedEvent) {
      switch (event.type) {
        case "entity.created": {
          const d = event.data;
          let path = d.entity_id;
          let effective = 1;
          if (d.parent_id !== null) {
            const parent = sql
              .prepare<{ path: string; effective_active: number }>(
                "SELECT path, effective_active FROM entities WHERE id = ?",
              )
              .get(d.parent_id);
            if (!parent)
              throw new KeygateError("resource_missing", `No such parent entity ${d.parent_id}.`);
            path = `${parent.path}/${d.entity_id}`;
            effective = parent.effective_active;
          }
          writeUnique([siblingReference(d.reference), ONE_PLATFORM], () =>
            sql
              .prepare(
                "INSERT INTO entities (id, kind, name, parent_id, path, reference, active, effective_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
              )
              .run(
                d.entity_id,
                d.kind,
                d.name,
                d.parent_id,
                path,
                d.reference,
                effective,
                event.recordedAt,
                event.recordedAt,
              ),
          );
          return;
        }
        case "entity.deactivated":
          setActive(event.data.entity_id, false, event.recordedAt);
          return;
        case "entity.reactivated":
          setActive(event.data.entity_id, true, event.recordedAt);
          return;
        case "entity.updated": {
          const { entity_id, name, reference } = event.data;
          // COALESCE keeps the name when the event does not change it; the reference is
          // set only when the event holds one (null included, which removes it).
          writeUnique([siblingReference(reference ?? null)], () =>
            sql
              .prepare(
                `UPDATE entities SET name = COALESCE(?, name), updated_at = ?,
                 reference = CASE WHEN ? THEN ? ELSE reference END WHERE id = ?`,
              )
              .run(
                name ?? null,
                event.recordedAt,
                reference !== undefined ? 1 : 0,
                reference ?? null,
                entity_id,
              ),
          );
          return;
        }
        default:
          return;
      }
    },
  };
}

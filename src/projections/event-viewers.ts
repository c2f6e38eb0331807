/**
 * Read model of who below the platform may read each event on `GET /v1/events`: the events of
 * a subtree's entities, users and keys, and the idempotent results recorded for its entities —
 * each key's and each result's in its own environment only, an entity's and a user's in both.
 * An event gets a row for the entity it belongs to and for every ancestor of it below the
 * platform (a platform key reads the log itself), so a subtree's events are one range of
 * `event_viewers`, in log order.
 *
 * An event's entity and environment never change (keys, users and results stay where they
 * were made; entities do not move), so rows are only ever added. Registered after the entity,
 * key and user projections: an event's entity is looked up in their tables.
 */
import { LruMap } from "../cache/lru-map.ts";
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";

const BOTH = ["live", "test"] as const;

/** The viewer key of an entity in an environment. */
export function viewerOf(entityId: string, environment: string): string {
  return `${entityId}:${environment}`;
}

/** Entity paths kept in memory: an entity's never changes, and most events need one. */
const PATH_CACHE_ENTRIES = 10_000;

/** Builds the event-viewers projection over a connection. */
export function eventViewersProjection(sql: SqlConnection): InlineProjection {
  const one = <T>(query: string, id: string) => sql.prepare<T>(query).get(id);
  const paths = new LruMap<string, readonly string[]>({ maxEntries: PATH_CACHE_ENTRIES });
  const pathOf = (entityId: string): readonly string[] | undefined => {
    let path = paths.get(entityId);
    if (path === undefined) {
      path = one<{ path: string }>("SELECT path FROM entities WHERE id = ?", entityId)?.path.split(
        "/",
      );
      if (path !== undefined) paths.set(entityId, path);
    }
    return path;
  };
  /** The entity an event belongs to, and the environments that see it. */
  const ownerOf = (
    event: RecordedEvent,
  ): { entityId: string; environments: readonly string[] } | undefined => {
    const d = event.data as Record<string, unknown>;
    if (event.type.startsWith("entity.") || event.type === "user.created")
      return { entityId: d.entity_id as string, environments: BOTH };
    if (event.type.startsWith("user.")) {
      const user = one<{ entity_id: string }>(
        "SELECT entity_id FROM users WHERE id = ?",
        d.user_id as string,
      );
      return user && { entityId: user.entity_id, environments: BOTH };
    }
    if (event.type === "api_key.created")
      return { entityId: d.entity_id as string, environments: [d.environment as string] };
    if (event.type.startsWith("api_key.")) {
      const key = one<{ entity_id: string; environment: string }>(
        "SELECT entity_id, environment FROM api_keys WHERE id = ?",
        d.key_id as string,
      );
      return key && { entityId: key.entity_id, environments: [key.environment] };
    }
    // A dashboard user's result (`scope` "dashboard") is for no API key to read.
    if (event.type === "idempotency.recorded" && (d.scope === "live" || d.scope === "test"))
      return { entityId: d.entity_id as string, environments: [d.scope] };
    return undefined;
  };
  return {
    name: "event_viewers",
    version: 1,
    tables: ["event_viewers"],
    apply(event: RecordedEvent) {
      const owner = ownerOf(event);
      if (!owner) return;
      // An entity this database does not hold (a result recorded by a test double, say) has no
      // readers below the platform: the event is not the read model's to refuse.
      const path = pathOf(owner.entityId);
      if (path === undefined) return;
      // path[0] is the platform: its keys read the log itself.
      if (path.length === 1) return;
      const insert = sql.prepare("INSERT INTO event_viewers (viewer, position) VALUES (?, ?)");
      for (const entityId of path.slice(1))
        for (const environment of owner.environments)
          insert.run(viewerOf(entityId, environment), event.position);
    },
  };
}

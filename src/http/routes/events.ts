/**
 * `GET /v1/events?after=&limit=`: the log, in order. A platform key sees every event; any
 * other caller sees the events of the entities, keys and users in its subtree, and the
 * idempotent results recorded for those entities (sealed: no response is in the log). Either
 * way, a key sees nothing of the other environment: not its keys' events, not its idempotent
 * results (a test key, the kind handed to developers and CI, never reads a live key's name,
 * scopes or secret hash).
 */
import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { eventObjectOf } from "../../projections/queries.ts";
import type { EventRow } from "../../store/event-store.ts";
import { eventFromRow } from "../../store/event-store.ts";
import { keygateGuard } from "../guard.ts";
import { QueryInteger, queryInteger } from "../query-integer.ts";

/** Every event but the other environment's (?2: the caller's environment), from ?1 on. */
const ALL_EVENTS = `SELECT * FROM events WHERE position > ?1
  AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = events.stream_id AND k.environment != ?2)
  AND NOT (type = 'idempotency.recorded' AND json_extract(data, '$.scope') != ?2)
  ORDER BY position LIMIT ?3`;

/**
 * The events of the subtree at path ?2 — its entities, users, keys of environment ?4, and the
 * idempotent results recorded for its entities in ?4 — from ?1 on. A result's stream is
 * `idempotency:<entity>:<environment>:<key>` (idempotencyScopeKey): the streams of one entity
 * and environment are the ids from that prefix up to the same prefix ending in ';' instead of
 * ':', one range of the streams table's primary key.
 */
const SUBTREE_EVENTS = `WITH subtree AS (
    SELECT id FROM entities WHERE path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')
  SELECT * FROM events WHERE position > ?1 AND stream_id IN (
    SELECT id FROM subtree
    UNION ALL SELECT id FROM api_keys WHERE entity_id IN subtree AND environment = ?4
    UNION ALL SELECT id FROM users WHERE entity_id IN subtree
    UNION ALL SELECT st.stream_id FROM subtree s JOIN streams st
      ON st.stream_id >= 'idempotency:' || s.id || ':' || ?4 || ':'
      AND st.stream_id < 'idempotency:' || s.id || ':' || ?4 || ';')
  ORDER BY position LIMIT ?3`;

/** The /v1/events controller. */
export function eventRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/events", normalize: false }).use(keygateGuard(kg)).get(
    "/v1/events",
    ({ query, identity }) => {
      const limit = queryInteger(query.limit, "limit", 1, 1000, 100);
      const after = queryInteger(query.after, "after", 0, Number.MAX_SAFE_INTEGER, 0);
      // Only API keys reach here (a JWT is for /v1/api-keys* alone); each has an environment.
      const { environment } = identity;
      if (environment === null) throw new Error("unreachable: /v1/events accepts API keys only");
      const root = identity.entity.path.length === 1;
      const rows = root
        ? kg.db.sql.prepare<EventRow>(ALL_EVENTS).all(after, environment, limit + 1)
        : kg.db.sql
            .prepare<EventRow>(SUBTREE_EVENTS)
            .all(after, identity.entity.path.join("/"), limit + 1, environment);
      const data = rows.slice(0, limit).map((row) => eventObjectOf(eventFromRow(row)));
      return {
        object: "list",
        data,
        has_more: rows.length > limit,
        next_after: data.at(-1)?.position ?? after,
      };
    },
    {
      scopes: ["events:read"],
      query: t.Object(
        {
          after: t.Optional(QueryInteger),
          limit: t.Optional(QueryInteger),
        },
        { additionalProperties: false },
      ),
    },
  );
}

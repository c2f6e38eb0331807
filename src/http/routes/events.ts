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
import { viewerOf } from "../../projections/event-viewers.ts";
import { eventObjectOf } from "../../projections/queries.ts";
import type { EventRow } from "../../store/event-store.ts";
import { eventFromRow } from "../../store/event-store.ts";
import { keygateGuard } from "../guard.ts";
import { documented } from "../openapi.ts";
import { wholeNumberParameter } from "../query-integer.ts";

/**
 * The most positions of the log a platform key's request reads. Its environment's events can
 * be few and far between (the test key on a log of live traffic): scanning until a page is full
 * would read the whole log, synchronously, holding every other request for about a second per
 * million events. So a request reads at most this window past `after` (about 10 ms) and answers
 * what it found there — a short or even empty page, with `has_more` and a `next_after` at the
 * window's end — and the client reads on from there.
 */
export const EVENTS_SCAN_WINDOW = 10_000;

/**
 * The events from ?1 (exclusive) to ?4 (inclusive) but the other environment's (?2: the
 * caller's environment): its keys' events and its idempotent results.
 */
const ALL_EVENTS = `SELECT * FROM events WHERE position > ?1 AND position <= ?4
  AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = events.stream_id AND k.environment != ?2)
  AND NOT (type = 'idempotency.recorded' AND json_extract(data, '$.scope') != ?2)
  ORDER BY position LIMIT ?3`;

/**
 * The events from ?2 on that viewer ?1 — an entity below the platform, in one environment —
 * may read (src/projections/event-viewers.ts): one range of `event_viewers`, in log order.
 */
const SUBTREE_EVENTS = `SELECT e.* FROM event_viewers v JOIN events e ON e.position = v.position
  WHERE v.viewer = ?1 AND v.position > ?2 ORDER BY v.position LIMIT ?3`;

/**
 * The positions a platform key's request reads past `after`: up to `until`, of a log ending
 * at `head`.
 */
function windowFrom(after: number, head: number): { until: number; head: number } {
  return { until: Math.max(after, Math.min(after + EVENTS_SCAN_WINDOW, head)), head };
}

/** How many events a page holds: 1–1,000, 100 by default. */
const EVENTS_LIMIT = wholeNumberParameter("limit", 1, 1000, 100);
/** The position a page starts after: 0, the default, reads from the first event. */
const AFTER = wholeNumberParameter("after", 0, Number.MAX_SAFE_INTEGER, 0);

/** The /v1/events controller. */
export function eventRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/events", normalize: false }).use(keygateGuard(kg)).get(
    "/v1/events",
    ({ query, identity }) => {
      const limit = EVENTS_LIMIT.read(query.limit);
      const after = AFTER.read(query.after);
      // Only API keys reach here (a JWT is for /v1/api-keys* alone); each has an environment.
      const { environment } = identity;
      if (environment === null) throw new Error("unreachable: /v1/events accepts API keys only");
      // A platform key's scan: where it stops, and where the log ends.
      const scan =
        identity.entity.path.length === 1 ? windowFrom(after, kg.store.headPosition()) : undefined;
      const rows = scan
        ? kg.db.sql.prepare<EventRow>(ALL_EVENTS).all(after, environment, limit + 1, scan.until)
        : kg.db.sql
            .prepare<EventRow>(SUBTREE_EVENTS)
            .all(viewerOf(identity.entity.id, environment), after, limit + 1);
      const full = rows.length > limit;
      const data = rows.slice(0, limit).map((row) => eventObjectOf(eventFromRow(row)));
      return {
        object: "list",
        data,
        // A full page ends at its last event; a short scan has read everything up to `until`.
        has_more: full || (scan !== undefined && scan.until < scan.head),
        next_after: full || !scan ? (data.at(-1)?.position ?? after) : scan.until,
      };
    },
    {
      scopes: ["events:read"],
      query: t.Object(
        {
          after: t.Optional(AFTER.schema),
          limit: t.Optional(EVENTS_LIMIT.schema),
        },
        { additionalProperties: false },
      ),
      detail: documented({
        summary: "Read the event log from a position on",
        id: "listEvents",
        tag: "Events",
        returns: "EventList",
      }),
    },
  );
}

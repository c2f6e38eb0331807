/**
 * `GET /metrics`: the Prometheus text, for scrapers from an allowed address (loopback by
 * default, `metrics.allow`; behind a trusted proxy, the address it forwarded) or presenting
 * `Authorization: Bearer <KEYGATE_METRICS_TOKEN>`; anyone else gets 403 `access_denied`.
 * Off with `metrics.enabled: false` (then 404).
 */
import { timingSafeEqual } from "node:crypto";
import { statSync } from "node:fs";
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { latestCheckpoint } from "../audit/checkpoints.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { documented } from "../http/openapi.ts";
import { clientAddress, UNKNOWN_ADDRESS } from "../http/peer-address.ts";
import { headPositionOf } from "../store/event-store.ts";
import type { Gauge } from "./metrics.ts";

/** Whether a scraper may read the metrics. */
export function mayScrape(
  config: Keygate["config"]["metrics"],
  client: string,
  authorization: string | null,
): boolean {
  // A client whose address cannot be told is allowed nothing by address, whatever the list says.
  if (client !== UNKNOWN_ADDRESS && config.allow.has(client)) return true;
  if (!config.token || !authorization) return false;
  const given = Buffer.from(authorization);
  const expected = Buffer.from(`Bearer ${config.token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Bytes on disk of the file at `path` (0 when there is none). */
function bytesOf(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * The gauges read at each scrape, from the database: how many events the log holds, how many
 * of them the latest signed checkpoint covers (the rest are protected by the chain alone until
 * the next one: alert when the gap keeps growing), and the bytes the database and its WAL take
 * on disk (the log only grows: docs/idempotency.md). Two primary-key reads and two `stat`s.
 */
export function scrapedGauges(kg: Keygate): Gauge[] {
  const { dbPath } = kg.config;
  const onDisk = dbPath === ":memory:" ? 0 : bytesOf(dbPath) + bytesOf(`${dbPath}-wal`);
  return [
    {
      name: "keygate_log_events",
      help: "Events in the log (its head position).",
      value: headPositionOf(kg.db.sql),
    },
    {
      name: "keygate_log_checkpointed_events",
      help: "Events the latest signed checkpoint covers.",
      value: latestCheckpoint(kg.db.sql)?.size ?? 0,
    },
    {
      name: "keygate_database_bytes",
      help: "Bytes the database file and its write-ahead log take on disk.",
      value: onDisk,
    },
  ];
}

/** The /metrics route. */
export function metricsRoutes(kg: Keygate) {
  const app = new Elysia({ name: "keygate/metrics", normalize: false });
  if (!kg.config.metrics.enabled) return app;
  const { trustedProxies } = kg.config.gateway;
  return app.get(
    "/metrics",
    ({ request, server, set }) => {
      // Through a trusted proxy (nginx on the same machine), the peer is the proxy: the client
      // it forwarded is the one judged, or every client of the proxy would pass as loopback.
      const client = clientAddress(request, server, trustedProxies);
      if (!mayScrape(kg.config.metrics, client, request.headers.get("authorization")))
        throw new KeygateError(
          "access_denied",
          "Metrics are open to the configured addresses or token only.",
        );
      set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
      return kg.metrics.render(scrapedGauges(kg));
    },
    {
      detail: documented({
        summary: "Counters in Prometheus' text format, for the configured addresses or token",
        id: "getMetrics",
        tag: "Health",
        returns: "text",
        access: "public",
      }),
    },
  );
}

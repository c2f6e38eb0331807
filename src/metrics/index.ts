/**
 * `GET /metrics`: the Prometheus text, for scrapers from an allowed address (loopback by
 * default, `metrics.allow`; behind a trusted proxy, the address it forwarded) or presenting
 * `Authorization: Bearer <KEYGATE_METRICS_TOKEN>`; anyone else gets 403 `access_denied`.
 * Off with `metrics.enabled: false` (then 404).
 */
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { documented } from "../http/openapi.ts";
import { clientAddress, UNKNOWN_ADDRESS } from "../http/peer-address.ts";

/** Whether a scraper may read the metrics. */
export function mayScrape(
  config: Keygate["config"]["metrics"],
  client: string,
  authorization: string | null,
): boolean {
  // A client whose address cannot be told is allowed nothing by address, whatever the list says.
  if (client !== UNKNOWN_ADDRESS && config.allow.includes(client)) return true;
  if (!config.token || !authorization) return false;
  const given = Buffer.from(authorization);
  const expected = Buffer.from(`Bearer ${config.token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
      return kg.metrics.render();
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

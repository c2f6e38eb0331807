/**
 * A route rule of the configuration — a rate-limit policy of `rate_limits.routes`, or an
 * `idempotency.required` entry — that covers no request the server serves never applies. Most
 * often it is a typo (`POST /chekout`, `/v1/api-key`), and the route the operator meant runs
 * without the limit or the required key, silently. The standalone server refuses to start
 * with one. (In an app of one's own, the plugins serve that app's routes, which only the app
 * knows: the rules are left as written.)
 */

import type { KeygateConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { patternsOverlap } from "./path-pattern.ts";
import type { RouteEntry } from "./route-finder.ts";
import { methodsMeet } from "./route-method.ts";

/** Throws a {@link ConfigError} naming the first rule that covers none of `routes`. */
export function refuseRulesWithoutRoute(
  config: KeygateConfig,
  routes: readonly RouteEntry[],
): void {
  // The file's rules come first, in its order, before the gateway routes' own (which serve
  // their route by definition): the index among them is the one in the file.
  const written = [
    ...config.rateLimits.routes
      .filter((policy) => !policy.routeOwned)
      .map((rule, i) => ({ rule, field: `rate_limits.routes[${i}]`, what: "policy" })),
    ...config.idempotency.required
      .filter((required) => !required.routeOwned)
      .map((rule, i) => ({ rule, field: `idempotency.required[${i}]`, what: "requirement" })),
  ];
  for (const { rule, field, what } of written) {
    const served = routes.some(
      (route) =>
        methodsMeet(rule.method, route.method.toUpperCase()) &&
        patternsOverlap(rule.path, route.path),
    );
    if (!served)
      throw new ConfigError(
        `KEYGATE_CONFIG ${config.configFile}: ${field}: no route of this server serves ${rule.method} ${rule.path}, so the ${what} would never apply`,
      );
  }
}

/** Rate-limit policies: how many requests per window, and which requests a policy covers. */
import { compilePathPattern } from "../http/path-pattern.ts";
import { routeServes } from "../http/route-method.ts";

/** Fixed windows (aligned to the epoch) or the sliding approximation (weighted previous window). */
export type WindowAlgorithm = "fixed" | "sliding";

/** A limit: `limit` requests per `windowSeconds`, per API key. */
export interface RateLimitPolicy {
  /** Shown in `RateLimit-Policy` and part of the counter's key. */
  name: string;
  limit: number;
  windowSeconds: number;
  algorithm: WindowAlgorithm;
}

/** A policy for the requests whose method and path match. */
export interface RoutePolicy extends RateLimitPolicy {
  method: string;
  /** A path pattern (http/path-pattern.ts): `/checkout`, `/checkout/:id`, `/checkout/*`. */
  path: string;
  /**
   * A gateway route's own limit: it counts the requests that route serves, not every path its
   * pattern covers (`GET /accounts/:id`'s limit is not `GET /accounts/export`'s, a route of its
   * own). A `rate_limits.routes` policy covers its pattern's paths, whichever route serves them.
   */
  routeOwned?: boolean;
}

/** The name of the policy of a key's own limit (set at creation or by PATCH). */
export const KEY_POLICY_NAME = "key";

/** SPEC §4's default: 100 requests per second per key (Calmony). */
export const DEFAULT_POLICY: RateLimitPolicy = {
  name: "default",
  limit: 100,
  windowSeconds: 1,
  algorithm: "fixed",
};

const NONE: readonly RoutePolicy[] = Object.freeze([]);

/** Route policies with their compiled patterns, matched per request. */
export class RoutePolicies {
  readonly #compiled: { policy: RoutePolicy; method: string; pattern: RegExp }[];

  constructor(policies: readonly RoutePolicy[]) {
    this.#compiled = policies.map((policy) => ({
      policy,
      method: policy.method.toUpperCase(),
      pattern: compilePathPattern(policy.path),
    }));
  }

  /**
   * The policies that cover `method` and `path` (query string excluded), served by the route
   * of pattern `route` ("" for none).
   */
  matching(method: string, path: string, route: string): readonly RoutePolicy[] {
    if (this.#compiled.length === 0) return NONE;
    return this.#compiled
      .filter(
        (c) =>
          routeServes(c.method, method) &&
          (c.policy.routeOwned ? c.policy.path === route : c.pattern.test(path)),
      )
      .map((c) => c.policy);
  }
}

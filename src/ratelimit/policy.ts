/** Rate-limit policies: how many requests per window, and which requests a policy covers. */
import { type RouteRule, ruleCovers } from "../http/path-pattern.ts";

/**
 * Fixed windows (aligned to the epoch), or sliding ones: a rolling window counted in sixtieths
 * of its length, that never lets more than its limit through in any stretch of its length.
 */
export type WindowAlgorithm = "fixed" | "sliding";

/** A limit: `limit` requests per `windowSeconds`, per API key. */
export interface RateLimitPolicy {
  /** Shown in `RateLimit-Policy` and part of the counter's key. */
  name: string;
  limit: number;
  windowSeconds: number;
  algorithm: WindowAlgorithm;
}

/** A policy for the requests whose method and path match (`routeOwned`: see path-pattern.ts). */
export interface RoutePolicy extends RateLimitPolicy, RouteRule {}

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
  readonly #compiled: { policy: RoutePolicy; covers: ReturnType<typeof ruleCovers> }[];

  constructor(policies: readonly RoutePolicy[]) {
    this.#compiled = policies.map((policy) => ({ policy, covers: ruleCovers(policy) }));
  }

  /**
   * The policies that cover `method` and `path` (query string excluded), served by the route
   * of pattern `route` ("" for none).
   */
  matching(method: string, path: string, route: string): readonly RoutePolicy[] {
    if (this.#compiled.length === 0) return NONE;
    return this.#compiled.filter((c) => c.covers(method, path, route)).map((c) => c.policy);
  }
}

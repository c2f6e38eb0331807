/**
 * Per-key rate limiting (SPEC §4), as a step that runs right after authentication: every
 * authenticated response carries `X-RateLimit-*` and the IETF `RateLimit-Policy` /
 * `RateLimit` fields for the tightest policy; over any limit, 429 `rate_limited` with
 * `Retry-After` in whole seconds. The policies for a request: the key's own limit if it has
 * one, else the default, plus every route policy matching its method and path.
 */
import type { Keygate } from "../app/keygate.ts";
import type { Identity } from "../auth/identity.ts";
import type { AuthenticatedCheck } from "../auth/index.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import type { RateLimitSetting } from "../keys/api-key.ts";
import { KEY_POLICY_NAME, type RateLimitPolicy, RoutePolicies } from "./policy.ts";
import { setRateLimitHeaders } from "./rate-limiter.ts";

function subjectOf(identity: Identity): string {
  return identity.type === "api_key" ? identity.key.id : identity.userId;
}

/**
 * The limit a key whose own is `own` is held to: its own, else the configured default; null when
 * nothing limits it (rate limits off, or no default). What a key object shows as `rate_limit`.
 */
export function effectiveRateLimit(
  kg: Keygate,
  own: RateLimitSetting | null,
): RateLimitSetting | null {
  const fallback = kg.config.rateLimits.default;
  if (own || !kg.config.rateLimits.enabled || !fallback) return own;
  return { limit: fallback.limit, window_seconds: fallback.windowSeconds };
}

/** The policy that governs a key on every route: its own limit, else the default (none if that is off). */
export function keyPolicy(
  kg: Keygate,
  ownLimit: { limit: number; window_seconds: number } | null,
): RateLimitPolicy[] {
  const fallback = kg.config.rateLimits.default;
  if (!ownLimit) return fallback ? [fallback] : [];
  return [
    {
      name: KEY_POLICY_NAME,
      limit: ownLimit.limit,
      windowSeconds: ownLimit.window_seconds,
      algorithm: fallback?.algorithm ?? "fixed",
    },
  ];
}

/**
 * {@link keyPolicy}, the same list for the same limit object: a key's limit object lives as
 * long as its entry in the key index, so each key's list is built once, not per request
 * (which also lets the `RateLimit-Policy` field be formatted once per list).
 */
function keyPolicies(kg: Keygate) {
  const fallback = Object.freeze(keyPolicy(kg, null));
  const own = new WeakMap<object, readonly RateLimitPolicy[]>();
  return (limit: { limit: number; window_seconds: number } | null) => {
    if (!limit) return fallback;
    let policies = own.get(limit);
    if (!policies) {
      policies = Object.freeze(keyPolicy(kg, limit));
      own.set(limit, policies);
    }
    return policies;
  };
}

/**
 * The rate-limit checks a request chain runs after authentication: the one step, configured
 * from `kg.config.rateLimits`, or none when rate limits are off (`enabled: false`: no limit,
 * no headers). Every chain — Keygate's routes, the gateway's, forward-auth — asks here.
 */
export function rateLimitChecks(kg: Keygate): AuthenticatedCheck[] {
  return kg.config.rateLimits.enabled ? [rateLimitStep(kg)] : [];
}

/** The rate-limit step, configured from `kg.config.rateLimits`. */
function rateLimitStep(kg: Keygate): AuthenticatedCheck {
  const routePolicies = new RoutePolicies(kg.config.rateLimits.routes);
  const policiesOfKey = keyPolicies(kg);
  return (identity, { method, path, route, set }) => {
    const ofKey = policiesOfKey(identity.type === "api_key" ? identity.key.rateLimit : null);
    const ofRoute = routePolicies.matching(method, path, route);
    const policies = ofRoute.length === 0 ? ofKey : [...ofKey, ...ofRoute];
    if (policies.length === 0) return undefined;
    const decision = kg.rateLimiter.check(subjectOf(identity), policies);
    setRateLimitHeaders(set.headers, decision);
    if (!decision.allowed) {
      kg.metrics.rateLimited();
      throw new KeygateError(
        "rate_limited",
        `Rate limit exceeded: ${decision.tightest.policy.limit} requests per ${decision.tightest.policy.windowSeconds} s. Retry after ${decision.retryAfterSeconds} s.`,
        undefined,
        decision.retryAfterSeconds,
      );
    }
    return undefined;
  };
}

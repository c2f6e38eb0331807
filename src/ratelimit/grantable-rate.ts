/**
 * A key never grants more than it holds (SPEC §1), its rate limit included: a caller below
 * the platform cannot give a key — another, or itself — a limit above its own. Otherwise any
 * key holding `api_keys:write` could lift the limit its operator set on it, by `PATCH` on
 * itself or by making a key with a limit of a million a second.
 *
 * A granted limit is within the caller's when it allows no more requests at once
 * (`limit` ≤ the caller's) and no more per second on average (`limit / window_seconds` ≤ the
 * caller's): `60/60s` is within `100/1s`; `1000/60s` (a burst of 1,000) and `200/1s` are not.
 */
import type { Keygate } from "../app/keygate.ts";
import type { Identity } from "../auth/identity.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { type RateLimitSetting, sameRateLimit } from "../keys/api-key.ts";
import { effectiveRateLimit } from "./index.ts";

/** `null`: not limited at all. */
type Limit = RateLimitSetting | null;

/**
 * The most `identity` may give a key, or null for no ceiling: with rate limits off; for a
 * caller at the platform entity that has no limit of its own (the operator's keys and
 * users: they set the limits); for a caller held to no limit.
 */
export function rateCeiling(kg: Keygate, identity: Identity): Limit {
  if (!kg.config.rateLimits.enabled) return null;
  const own = identity.type === "api_key" ? identity.key.rateLimit : null;
  if (!own && identity.entity.path.length === 1) return null;
  return effectiveRateLimit(kg, own);
}

/** Whether `granted` (null: unlimited) allows no more at once, nor on average, than `ceiling`. */
function within(granted: Limit, ceiling: RateLimitSetting): boolean {
  if (!granted) return false;
  return (
    granted.limit <= ceiling.limit &&
    granted.limit * ceiling.window_seconds <= ceiling.limit * granted.window_seconds
  );
}

/** Whether `identity` is allowed at least `limit` (null: no limit at all). */
export function holdsLimit(kg: Keygate, identity: Identity, limit: Limit): boolean {
  const ceiling = rateCeiling(kg, identity);
  return ceiling === null || within(limit, ceiling);
}

const describe = (limit: RateLimitSetting) => `${limit.limit} per ${limit.window_seconds} s`;

/**
 * Throws `access_denied` (param `rate_limit`) when `granted` — a key's own limit as the
 * request sets it, null for none (the default then governs it) — goes beyond what the caller
 * itself is held to. On a change, `current` is the key's own limit now: a limit that governs
 * the key already is not granted anew (a client may send back what it read).
 */
export function requireGrantableRate(
  kg: Keygate,
  identity: Identity,
  granted: Limit,
  current?: Limit,
): void {
  const ceiling = rateCeiling(kg, identity);
  if (!ceiling) return;
  const effective = effectiveRateLimit(kg, granted);
  if (current !== undefined && sameRateLimit(effective, effectiveRateLimit(kg, current))) return;
  if (within(effective, ceiling)) return;
  const given = granted
    ? `A rate_limit of ${describe(granted)}`
    : `No rate_limit — ${effective ? `the default of ${describe(effective)}` : "no limit at all"} —`;
  throw new KeygateError(
    "access_denied",
    `${given} is more than this caller is held to (${describe(ceiling)}): a key never grants more than it holds. Give a rate_limit of at most ${ceiling.limit} at once and ${describe(ceiling)} on average.`,
    "rate_limit",
  );
}

/**
 * Throws `access_denied` when rotating a key whose own limit is `own` would hand the caller
 * the new secret of a key allowed more than it is — a way around {@link requireGrantableRate}.
 */
export function requireRateToRotate(kg: Keygate, identity: Identity, own: Limit): void {
  const ceiling = rateCeiling(kg, identity);
  if (!ceiling) return;
  const effective = effectiveRateLimit(kg, own);
  if (within(effective, ceiling)) return;
  throw new KeygateError(
    "access_denied",
    `Rotating hands over the key's new secret, and this key is allowed ${effective ? describe(effective) : "any number of requests"}, more than this caller is held to (${describe(ceiling)}): only a caller allowed as much may rotate it.`,
  );
}

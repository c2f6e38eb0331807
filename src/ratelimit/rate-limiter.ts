/**
 * The limiter: a request passes only if every policy that applies has room, and only a
 * request that passes is counted (refused requests do not use up the window). Counters are
 * keyed by API key id and policy name, so a rotated key keeps its count.
 */
import { forwardOnly } from "../clock/forward-only.ts";
import type { CounterStore } from "./counter-store.ts";
import type { RateLimitPolicy } from "./policy.ts";

/** One policy's view of a request. */
export interface PolicyState {
  policy: RateLimitPolicy;
  /** Requests left in the window after this one (0 when refused). */
  remaining: number;
  /** When the current window ends (epoch ms). */
  resetAtMs: number;
  /** When refused: whole seconds until a request would pass. */
  retryAfterSeconds: number;
  allowed: boolean;
}

/** The outcome for a request. */
export interface RateLimitDecision {
  allowed: boolean;
  states: PolicyState[];
  /**
   * The state the X-RateLimit-* headers describe: when allowed, the one with the fewest
   * requests left; when refused, the refusing one with the longest wait.
   */
  tightest: PolicyState;
  /** When refused: whole seconds until every policy would let a request through. */
  retryAfterSeconds: number;
  /** When the decision was made (epoch ms): the headers' `t` counts from here. */
  atMs: number;
  /** The policies decided on, as given to {@link RateLimiter.check}. */
  policies: readonly RateLimitPolicy[];
}

/** Checks and counts requests against policies. */
export class RateLimiter {
  readonly #store: CounterStore;
  /** Epoch ms that never go back (clock/forward-only.ts): a clock stepped back resets no count. */
  readonly #nowMs: () => number;

  constructor(store: CounterStore, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#nowMs = forwardOnly(now);
  }

  /** The store (for its size in tests and metrics). */
  get store(): CounterStore {
    return this.#store;
  }

  /**
   * Decides whether `subject` may make one more request under `policies`, counting it if so.
   *
   * The loops are indexed on purpose: `for…of` over a frozen policy list (rateLimitStep's
   * per-key lists are frozen) made JSC throw this function's optimised code away on every
   * call (an out-of-bounds speculation failure, recompiled again and again), which cost the
   * authenticated request path more than the limiter's own work.
   */
  check(subject: string, policies: readonly RateLimitPolicy[]): RateLimitDecision {
    const nowMs = this.#nowMs();
    const count = policies.length;
    const states: PolicyState[] = [];
    const counters: string[] = [];
    let allowed = true;
    for (let i = 0; i < count; i++) {
      const policy = policies[i] as RateLimitPolicy;
      const counter = `${subject}|${policy.name}`;
      const state =
        policy.algorithm === "sliding"
          ? this.#slidingState(counter, policy, nowMs)
          : this.#fixedState(counter, policy, nowMs);
      states.push(state);
      counters.push(counter);
      if (!state.allowed) allowed = false;
    }
    let tightest = states[0] as PolicyState;
    for (let i = 0; i < count; i++) {
      const state = states[i] as PolicyState;
      if (allowed) this.#count(counters[i] as string, state.policy, nowMs);
      const tighter = allowed
        ? state.remaining < tightest.remaining
        : state.retryAfterSeconds > tightest.retryAfterSeconds;
      if (tighter) tightest = state;
    }
    return {
      allowed,
      states,
      tightest,
      retryAfterSeconds: allowed ? 0 : tightest.retryAfterSeconds,
      atMs: nowMs,
      policies,
    };
  }

  /** Counts a request that passed against `policy`. */
  #count(counter: string, policy: RateLimitPolicy, nowMs: number): void {
    const windowMs = policy.windowSeconds * 1000;
    if (policy.algorithm === "sliding") {
      const bucket = slidingBucket(nowMs, windowMs);
      // Kept until it stops counting: when its bucket leaves the window.
      const expiresAtMs = slidingBucketStart(bucket + SLIDING_BUCKETS + 1, windowMs);
      this.#store.increment(counter, bucket, SLIDING_BUCKETS, expiresAtMs, nowMs);
    } else {
      const window = Math.floor(nowMs / windowMs);
      this.#store.increment(counter, window, 0, (window + 1) * windowMs, nowMs);
    }
  }

  /** A fixed window: the requests counted since the window began. */
  #fixedState(counter: string, policy: RateLimitPolicy, nowMs: number): PolicyState {
    const windowMs = policy.windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    const resetAtMs = (window + 1) * windowMs;
    const used = this.#store.count(counter, window);
    const allowed = used + 1 <= policy.limit;
    return {
      policy,
      remaining: allowed ? policy.limit - used - 1 : 0,
      resetAtMs,
      retryAfterSeconds: allowed ? 0 : wholeSecondsUntil(resetAtMs, nowMs),
      allowed,
    };
  }

  /**
   * A sliding window: the requests counted in the buckets the last `window` touches — the
   * current one, and the oldest one in full though part of it is older than the window, so
   * that no stretch of `window` seconds ever holds more than `limit` requests. A request
   * stops counting when its bucket leaves the window.
   */
  #slidingState(counter: string, policy: RateLimitPolicy, nowMs: number): PolicyState {
    const windowMs = policy.windowSeconds * 1000;
    const bucket = slidingBucket(nowMs, windowMs);
    const counts = this.#store.counts(counter, bucket, SLIDING_BUCKETS);
    let used = 0;
    let newest = -1;
    for (let i = 0; i <= SLIDING_BUCKETS; i++) {
      const n = counts[i] as number;
      used += n;
      if (n > 0) newest = i;
    }
    const allowed = used + 1 <= policy.limit;
    // Everything counted, this request included when it passes, has stopped counting when
    // the newest bucket holding a count leaves the window.
    if (allowed) newest = SLIDING_BUCKETS;
    const resetAtMs = slidingBucketStart(bucket + newest + 1, windowMs);
    if (allowed) {
      return {
        policy,
        remaining: policy.limit - used - 1,
        resetAtMs,
        retryAfterSeconds: 0,
        allowed,
      };
    }
    // The first moment the buckets still counted hold room for one more: the oldest ones
    // leave one by one (bucket - SLIDING_BUCKETS + i leaves when bucket + i + 1 begins).
    let left = used;
    let leaving = 0;
    while (left + 1 > policy.limit) {
      left -= counts[leaving] as number;
      leaving += 1;
    }
    const roomAtMs = slidingBucketStart(bucket + leaving, windowMs);
    return {
      policy,
      remaining: 0,
      resetAtMs,
      retryAfterSeconds: wholeSecondsUntil(roomAtMs, nowMs),
      allowed,
    };
  }
}

/** Buckets per sliding window: a 60-second window counts per second. */
const SLIDING_BUCKETS = 60;

/** The bucket of a sliding window of `windowMs` that `nowMs` falls in. */
function slidingBucket(nowMs: number, windowMs: number): number {
  // Exact: nowMs · 60 stays far below 2^53.
  return Math.floor((nowMs * SLIDING_BUCKETS) / windowMs);
}

/** The first whole millisecond of a sliding window's bucket `bucket`. */
function slidingBucketStart(bucket: number, windowMs: number): number {
  // Split so that no product nears 2^53 (bucket · windowMs would, for one-second windows).
  const window = Math.floor(bucket / SLIDING_BUCKETS);
  const within = bucket - window * SLIDING_BUCKETS;
  return window * windowMs + Math.ceil((within * windowMs) / SLIDING_BUCKETS);
}

/** Whole seconds from `nowMs` until `atMs`, 1 at least: a `Retry-After`. */
function wholeSecondsUntil(atMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((atMs - nowMs) / 1000));
}

/**
 * `RateLimit-Policy` of a list of policies. A frozen list is one its owner reuses for every
 * request it governs (rateLimitStep's per-key lists), so its field is formatted once.
 */
const policyFields = new WeakMap<readonly RateLimitPolicy[], string>();

function policyField({ policies }: RateLimitDecision): string {
  let field = policyFields.get(policies);
  if (field === undefined) {
    field = policies.map((p) => `"${p.name}";q=${p.limit};w=${p.windowSeconds}`).join(", ");
    if (Object.isFrozen(policies)) policyFields.set(policies, field);
  }
  return field;
}

/** `X-RateLimit-*` and the IETF `RateLimit-Policy` / `RateLimit` fields for a decision. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {};
  setRateLimitHeaders(headers, decision);
  return headers;
}

/** Writes {@link rateLimitHeaders} straight into a response's headers (the per-request path). */
export function setRateLimitHeaders(
  headers: Record<string, unknown>,
  decision: RateLimitDecision,
): void {
  const t = decision.tightest;
  const secondsToReset = Math.max(0, Math.ceil((t.resetAtMs - decision.atMs) / 1000));
  headers["x-ratelimit-limit"] = String(t.policy.limit);
  headers["x-ratelimit-remaining"] = String(t.remaining);
  headers["x-ratelimit-reset"] = String(Math.ceil(t.resetAtMs / 1000));
  headers["ratelimit-policy"] = policyField(decision);
  headers.ratelimit = `"${t.policy.name}";r=${t.remaining};t=${secondsToReset}`;
}

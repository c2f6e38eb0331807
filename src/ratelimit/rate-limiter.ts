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
      const state = this.#state(counter, policy, nowMs);
      states.push(state);
      counters.push(counter);
      if (!state.allowed) allowed = false;
    }
    let tightest = states[0] as PolicyState;
    for (let i = 0; i < count; i++) {
      const state = states[i] as PolicyState;
      if (allowed) {
        const windowMs = state.policy.windowSeconds * 1000;
        const window = Math.floor(nowMs / windowMs);
        // Kept until the end of the next window: a sliding window still reads it then.
        this.#store.increment(counters[i] as string, window, (window + 2) * windowMs, nowMs);
      }
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

  #state(counter: string, policy: RateLimitPolicy, nowMs: number): PolicyState {
    const windowMs = policy.windowSeconds * 1000;
    const window = Math.floor(nowMs / windowMs);
    const resetAtMs = (window + 1) * windowMs;
    const { current, previous } = this.#store.read(counter, window);
    const elapsed = (nowMs - window * windowMs) / windowMs;
    const used = policy.algorithm === "sliding" ? previous * (1 - elapsed) + current : current;
    const allowed = used + 1 <= policy.limit;
    const remaining = allowed ? Math.max(0, Math.floor(policy.limit - used - 1)) : 0;
    const retryAfterSeconds = allowed
      ? 0
      : this.#retryAfter(policy, current, previous, nowMs, window);
    return { policy, remaining, resetAtMs, retryAfterSeconds, allowed };
  }

  /** Whole seconds until one more request fits (1 at least). */
  #retryAfter(
    policy: RateLimitPolicy,
    current: number,
    previous: number,
    nowMs: number,
    window: number,
  ): number {
    const windowMs = policy.windowSeconds * 1000;
    const windowEnd = (window + 1) * windowMs;
    let waitMs = windowEnd - nowMs;
    if (policy.algorithm === "sliding") {
      const room = policy.limit - 1;
      if (current <= room && previous > 0) {
        // previous·(1 − x) + current ≤ room, within this window.
        waitMs = Math.max(
          0,
          (1 - (room - current) / previous) * windowMs - (nowMs - window * windowMs),
        );
      } else if (current > 0) {
        // Next window: current becomes previous; current·(1 − x) ≤ room.
        waitMs += Math.max(0, 1 - room / current) * windowMs;
      }
    }
    return Math.max(1, Math.ceil(waitMs / 1000));
  }
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

/**
 * The limiter against a reference model, over seeded random request times: one to three
 * policies at once (fixed and sliding windows of 1–60 s, limits 1–8), requests in bursts and
 * after long pauses. For every request the model decides from its own list of the requests
 * let through (SPEC §4: pass every policy; refused requests do not count) — per epoch-aligned
 * window for a fixed policy; for a sliding one, those of the last window's length, counted
 * from the start of the sixtieth of a window each fell in — and the limiter must agree:
 * allowed or not, and the `remaining` of its tightest policy. Every sliding policy is also
 * held to what it promises, whatever the model says: no stretch of its window's length holds
 * more requests than its limit. Every refusal's `Retry-After` is then checked by replaying
 * the history into a fresh limiter: a request that waits exactly that long passes, and one
 * that waits a second less (when the wait is longer than a second) is still refused.
 */
import { describe, expect, test } from "bun:test";
import { InMemoryCounterStore } from "../../src/ratelimit/counter-store.ts";
import type { RateLimitPolicy } from "../../src/ratelimit/policy.ts";
import { RateLimiter } from "../../src/ratelimit/rate-limiter.ts";
import { FakeClock } from "../support/keygate.ts";
import { seededRandom } from "../support/random.ts";

const START = "2026-01-01T00:00:00.000Z";
const SUBJECT = "key_model";

/** The times (epoch ms) of the requests let through, and what each policy counts of them. */
class ReferenceModel {
  readonly #passed: number[] = [];

  constructor(readonly policies: readonly RateLimitPolicy[]) {}

  /** The requests a policy counts as used at `atMs`, before this request. */
  used(policy: RateLimitPolicy, atMs: number): number {
    const windowMs = policy.windowSeconds * 1000;
    if (policy.algorithm === "fixed") {
      const windowStart = Math.floor(atMs / windowMs) * windowMs;
      return this.#passed.filter((t) => t >= windowStart).length;
    }
    // Sliding: every request from the sixtieth of a window that began a window ago, on.
    const sixtieth = (t: number) => Math.floor((t * 60) / windowMs);
    return this.#passed.filter((t) => sixtieth(t) >= sixtieth(atMs) - 60).length;
  }

  /** Whether a request at `atMs` passes, counting it if so; and the fewest requests left then. */
  request(atMs: number): { allowed: boolean; remaining: number } {
    const allowed = this.policies.every((p) => this.used(p, atMs) + 1 <= p.limit);
    if (!allowed) return { allowed, remaining: 0 };
    const remaining = Math.min(...this.policies.map((p) => p.limit - this.used(p, atMs) - 1));
    this.#passed.push(atMs);
    return { allowed, remaining };
  }

  /** The most requests let through in any stretch of `windowMs` (a half-open interval). */
  busiestStretch(windowMs: number): number {
    let most = 0;
    for (let last = 0, first = 0; last < this.#passed.length; last++) {
      while ((this.#passed[last] as number) - (this.#passed[first] as number) >= windowMs) first++;
      most = Math.max(most, last - first + 1);
    }
    return most;
  }
}

/** A fresh limiter that has seen the requests at `times` (ms after START), then its clock. */
function replayed(times: readonly number[], policies: readonly RateLimitPolicy[]) {
  const clock = new FakeClock(START);
  const limiter = new RateLimiter(new InMemoryCounterStore(), clock.now);
  let at = 0;
  for (const t of times) {
    clock.advance((t - at) / 1000);
    at = t;
    limiter.check(SUBJECT, policies);
  }
  return {
    /** Whether one more request, `afterMs` after the last one, passes. */
    passesAfter(afterMs: number): boolean {
      clock.advance(afterMs / 1000);
      return limiter.check(SUBJECT, policies).allowed;
    },
  };
}

function randomPolicies(rng: ReturnType<typeof seededRandom>): RateLimitPolicy[] {
  const count = 1 + rng.int(3);
  return Array.from({ length: count }, (_, i) => ({
    name: `p${i}`,
    limit: 1 + rng.int(8),
    windowSeconds: rng.pick([1, 2, 5, 60]),
    algorithm: rng.chance(0.5) ? "sliding" : "fixed",
  }));
}

const SEEDS = Array.from({ length: 24 }, (_, i) => i + 1);
const REQUESTS = 150;

describe("the limiter against a reference model", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: decisions, remaining and honest Retry-After over ${REQUESTS} requests`, () => {
      const rng = seededRandom(seed);
      const policies = randomPolicies(rng);
      const clock = new FakeClock(START);
      const limiter = new RateLimiter(new InMemoryCounterStore(), clock.now);
      const model = new ReferenceModel(policies);
      const startMs = clock.now().getTime();
      const times: number[] = [];
      const refusals: { at: number; retryAfterSeconds: number; before: number }[] = [];

      let at = 0;
      for (let i = 0; i < REQUESTS; i++) {
        // Mostly bursts a few ms apart, sometimes a pause of up to two minutes.
        const gap = rng.chance(0.85) ? rng.int(400) : rng.int(120_000);
        clock.advance(gap / 1000);
        at += gap;
        const decision = limiter.check(SUBJECT, policies);
        const want = model.request(startMs + at);
        const label = `seed ${seed} request ${i} at +${at} ms`;
        expect({ label, allowed: decision.allowed }).toEqual({ label, allowed: want.allowed });
        if (decision.allowed) {
          expect({ label, remaining: decision.tightest.remaining }).toEqual({
            label,
            remaining: want.remaining,
          });
        } else {
          refusals.push({
            at,
            retryAfterSeconds: decision.retryAfterSeconds,
            before: times.length,
          });
        }
        times.push(at);
      }

      expect(refusals.length).toBeGreaterThan(0);
      for (const policy of policies.filter((p) => p.algorithm === "sliding")) {
        const label = `seed ${seed}: the busiest ${policy.windowSeconds} s under "${policy.name}"`;
        expect({
          label,
          fits: model.busiestStretch(policy.windowSeconds * 1000) <= policy.limit,
        }).toEqual({ label, fits: true });
      }
      for (const { at, retryAfterSeconds, before } of refusals) {
        const label = `seed ${seed} refusal at +${at} ms, Retry-After ${retryAfterSeconds}`;
        const history = [...times.slice(0, before), at];
        expect({
          label,
          passes: replayed(history, policies).passesAfter(retryAfterSeconds * 1000),
        }).toEqual({ label, passes: true });
        if (retryAfterSeconds > 1) {
          const early = replayed(history, policies).passesAfter((retryAfterSeconds - 1) * 1000);
          expect({ label, earlyPasses: early }).toEqual({ label, earlyPasses: false });
        }
      }
    });
  }
});

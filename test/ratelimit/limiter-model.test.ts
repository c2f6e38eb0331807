/**
 * The limiter against a reference model, over seeded random request times: one to three
 * policies at once (fixed and sliding windows of 1–60 s, limits 1–8), requests in bursts and
 * after long pauses. For every request the model decides from its own count of the requests
 * let through per window (SPEC §4: pass every policy; refused requests do not count), and the
 * limiter must agree — allowed or not, and the `remaining` of its tightest policy. Every
 * refusal's `Retry-After` is then checked by replaying the history into a fresh limiter: a
 * request that waits exactly that long passes, and one that waits a second less (when the
 * wait is longer than a second) is still refused.
 */
import { describe, expect, test } from "bun:test";
import { InMemoryCounterStore } from "../../src/ratelimit/counter-store.ts";
import type { RateLimitPolicy } from "../../src/ratelimit/policy.ts";
import { RateLimiter } from "../../src/ratelimit/rate-limiter.ts";
import { FakeClock } from "../support/keygate.ts";
import { seededRandom } from "../support/random.ts";

const START = "2026-01-01T00:00:00.000Z";
const SUBJECT = "key_model";

/** Per policy, how many requests were let through in each of its windows. */
class ReferenceModel {
  readonly #passed = new Map<RateLimitPolicy, Map<number, number>>();

  constructor(readonly policies: readonly RateLimitPolicy[]) {
    for (const policy of policies) this.#passed.set(policy, new Map());
  }

  /** The requests a policy counts as used at `atMs`, before this request. */
  used(policy: RateLimitPolicy, atMs: number): number {
    const windowMs = policy.windowSeconds * 1000;
    const window = Math.floor(atMs / windowMs);
    const counts = this.#passed.get(policy) as Map<number, number>;
    const current = counts.get(window) ?? 0;
    if (policy.algorithm === "fixed") return current;
    const elapsed = (atMs - window * windowMs) / windowMs;
    return (counts.get(window - 1) ?? 0) * (1 - elapsed) + current;
  }

  /** Whether a request at `atMs` passes, counting it if so; and the fewest requests left then. */
  request(atMs: number): { allowed: boolean; remaining: number } {
    const allowed = this.policies.every((p) => this.used(p, atMs) + 1 <= p.limit);
    if (!allowed) return { allowed, remaining: 0 };
    const remaining = Math.min(
      ...this.policies.map((p) => Math.max(0, Math.floor(p.limit - this.used(p, atMs) - 1))),
    );
    for (const policy of this.policies) {
      const window = Math.floor(atMs / (policy.windowSeconds * 1000));
      const counts = this.#passed.get(policy) as Map<number, number>;
      counts.set(window, (counts.get(window) ?? 0) + 1);
    }
    return { allowed, remaining };
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

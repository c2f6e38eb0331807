/**
 * Where rate-limit counters live. The limiter speaks only to this interface, so a shared
 * store (Redis, SQLite) can replace the in-memory default without touching the plugin.
 *
 * A counter counts one subject's requests (key id + policy) per bucket: a bucket is a stretch
 * of time given by its index (epoch time / bucket length). A fixed window is one bucket; a
 * sliding window reads the last buckets of a ring (rate-limiter.ts).
 */

/** Counters by subject (key id + policy), per bucket. */
export interface CounterStore {
  /** `subject`'s count in bucket `bucket` (0 when there is none). */
  count(subject: string, bucket: number): number;
  /**
   * `subject`'s counts in buckets `last - span` … `last`, oldest first: what a counter kept
   * with the same `span` holds.
   */
  counts(subject: string, last: number, span: number): number[];
  /**
   * Adds one to `subject`'s count in `bucket` at `nowMs`, keeping the counts of the `span`
   * buckets before it (0: none); the counter may be dropped after `expiresAtMs`.
   */
  increment(
    subject: string,
    bucket: number,
    span: number,
    expiresAtMs: number,
    nowMs: number,
  ): void;
  /** Drops every counter that can no longer matter at `nowMs`. */
  sweep(nowMs: number): void;
  /** How many counters are held. */
  readonly size: number;
}

interface Counter {
  /** The newest bucket counted. */
  bucket: number;
  /** Its count, when the counter keeps one bucket (span 0). */
  count: number;
  /** With a span: the counts of buckets `bucket - span` … `bucket`, bucket `b` at `b % length`. */
  ring: Uint32Array | null;
  expiresAtMs: number;
}

/** The count of bucket `b` in `counter`. */
function countIn(counter: Counter, b: number): number {
  if (b > counter.bucket) return 0;
  const ring = counter.ring;
  if (ring === null) return b === counter.bucket ? counter.count : 0;
  return b > counter.bucket - ring.length ? (ring[b % ring.length] as number) : 0;
}

/**
 * The default store: a Map in this process. Memory stays bounded: a counter lives until its
 * newest count stops mattering, and a sweep runs every `sweepEvery` increments.
 */
export class InMemoryCounterStore implements CounterStore {
  readonly #counters = new Map<string, Counter>();
  readonly #sweepEvery: number;
  #sinceSweep = 0;

  constructor(options: { sweepEvery?: number } = {}) {
    this.#sweepEvery = options.sweepEvery ?? 10_000;
  }

  get size(): number {
    return this.#counters.size;
  }

  count(subject: string, bucket: number): number {
    const counter = this.#counters.get(subject);
    return counter === undefined ? 0 : countIn(counter, bucket);
  }

  counts(subject: string, last: number, span: number): number[] {
    const counter = this.#counters.get(subject);
    const counts: number[] = new Array(span + 1).fill(0);
    if (counter !== undefined)
      for (let i = 0; i <= span; i++) counts[i] = countIn(counter, last - span + i);
    return counts;
  }

  increment(
    subject: string,
    bucket: number,
    span: number,
    expiresAtMs: number,
    nowMs: number,
  ): void {
    const counter = this.#counters.get(subject);
    if (counter === undefined) {
      const ring = span > 0 ? new Uint32Array(span + 1) : null;
      if (ring) ring[bucket % ring.length] = 1;
      this.#counters.set(subject, { bucket, count: 1, ring, expiresAtMs });
    } else if (span === 0) {
      if (counter.bucket === bucket) counter.count += 1;
      else {
        counter.bucket = bucket;
        counter.count = 1;
        counter.ring = null;
      }
      counter.expiresAtMs = expiresAtMs;
    } else {
      let ring = counter.ring;
      if (ring === null || ring.length !== span + 1 || bucket < counter.bucket) {
        // Kept with another span, or buckets of another length (a key's own limit changed
        // from a 1-second window to a minute: its buckets went back), so none of it reads
        // as this policy's: start afresh, rather than leave the newest bucket in the future
        // and count nothing until then.
        ring = new Uint32Array(span + 1);
        counter.ring = ring;
        counter.bucket = bucket;
      }
      // Buckets after the newest one counted start at 0 (at most a ring's length of them).
      for (let b = counter.bucket + 1; b <= bucket && b <= counter.bucket + ring.length; b++)
        ring[b % ring.length] = 0;
      if (bucket > counter.bucket) counter.bucket = bucket;
      const slot = bucket % ring.length;
      if (bucket > counter.bucket - ring.length) ring[slot] = (ring[slot] as number) + 1;
      counter.expiresAtMs = Math.max(counter.expiresAtMs, expiresAtMs);
    }
    // Now, not this counter's expiry: counters of shorter windows still counting must stay.
    if (++this.#sinceSweep >= this.#sweepEvery) this.sweep(nowMs);
  }

  sweep(nowMs: number): void {
    this.#sinceSweep = 0;
    for (const [subject, counter] of this.#counters)
      if (counter.expiresAtMs <= nowMs) this.#counters.delete(subject);
  }
}

/**
 * Where rate-limit counters live. The limiter speaks only to this interface, so a shared
 * store (Redis, SQLite) can replace the in-memory default without touching the plugin.
 */

/** A subject's count in the current window and in the window before it. */
export interface WindowCounts {
  current: number;
  previous: number;
}

/** Counters by subject (key id + policy), per window. */
export interface CounterStore {
  /** The counts of `subject` in window `window` (an index: epoch time / window length) and window - 1. */
  read(subject: string, window: number): WindowCounts;
  /**
   * Adds one to `subject`'s count in `window` at `nowMs`; the entry may be dropped after
   * `expiresAtMs`.
   */
  increment(subject: string, window: number, expiresAtMs: number, nowMs: number): void;
  /** Drops every entry that can no longer matter at `nowMs`. */
  sweep(nowMs: number): void;
  /** How many entries are held. */
  readonly size: number;
}

interface Entry {
  window: number;
  current: number;
  previous: number;
  expiresAtMs: number;
}

/**
 * The default store: a Map in this process. Memory stays bounded: an entry lives until the
 * end of the window after its last use (a sliding window still needs it then), and a sweep
 * runs every `sweepEvery` increments.
 */
export class InMemoryCounterStore implements CounterStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sweepEvery: number;
  #sinceSweep = 0;

  constructor(options: { sweepEvery?: number } = {}) {
    this.#sweepEvery = options.sweepEvery ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  read(subject: string, window: number): WindowCounts {
    const entry = this.#entries.get(subject);
    if (!entry) return { current: 0, previous: 0 };
    if (entry.window === window) return { current: entry.current, previous: entry.previous };
    if (entry.window === window - 1) return { current: 0, previous: entry.current };
    return { current: 0, previous: 0 };
  }

  increment(subject: string, window: number, expiresAtMs: number, nowMs: number): void {
    const entry = this.#entries.get(subject);
    if (entry && entry.window === window) {
      entry.current += 1;
      entry.expiresAtMs = expiresAtMs;
    } else {
      const previous = entry && entry.window === window - 1 ? entry.current : 0;
      this.#entries.set(subject, { window, current: 1, previous, expiresAtMs });
    }
    // Now, not this entry's expiry: entries of shorter windows still counting must stay.
    if (++this.#sinceSweep >= this.#sweepEvery) this.sweep(nowMs);
  }

  sweep(nowMs: number): void {
    this.#sinceSweep = 0;
    for (const [subject, entry] of this.#entries)
      if (entry.expiresAtMs <= nowMs) this.#entries.delete(subject);
  }
}

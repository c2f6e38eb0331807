/**
 * Failed authentication attempts are limited per client address, so keys cannot be guessed
 * at line rate: after `maxFailures` failures in a fixed window, every request from that
 * address is refused with 429 until the window ends — before any key is looked up.
 * Memory stays bounded: finished windows are swept away.
 */
import { KeygateError } from "../errors/keygate-error.ts";

/** The defaults: 30 failures per 60 seconds per address. */
export const FAILED_AUTH_LIMIT = { maxFailures: 30, windowSeconds: 60 };

/** Counts failures per address in fixed windows aligned to the epoch. */
export class FailedAuthLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => Date;
  readonly #counts = new Map<string, { window: number; failures: number }>();

  constructor(options: { maxFailures?: number; windowSeconds?: number; now?: () => Date } = {}) {
    this.#max = options.maxFailures ?? FAILED_AUTH_LIMIT.maxFailures;
    this.#windowMs = (options.windowSeconds ?? FAILED_AUTH_LIMIT.windowSeconds) * 1000;
    this.#now = options.now ?? (() => new Date());
  }

  #window(): number {
    return Math.floor(this.#now().getTime() / this.#windowMs);
  }

  /** Seconds until `address` may try again, or 0 if it may now. */
  retryAfter(address: string): number {
    const entry = this.#counts.get(address);
    const window = this.#window();
    if (!entry || entry.window !== window || entry.failures < this.#max) return 0;
    return Math.max(1, Math.ceil(((window + 1) * this.#windowMs - this.#now().getTime()) / 1000));
  }

  /** Throws 429 `rate_limited` (with Retry-After) while `address` is over the limit. */
  refuseIfBlocked(address: string): void {
    const wait = this.retryAfter(address);
    if (wait > 0) {
      throw new KeygateError(
        "rate_limited",
        "Too many failed authentication attempts from this address.",
        undefined,
        wait,
      );
    }
  }

  /** Records a failed attempt from `address`. */
  fail(address: string): void {
    const window = this.#window();
    const entry = this.#counts.get(address);
    if (entry && entry.window === window) entry.failures += 1;
    else this.#counts.set(address, { window, failures: 1 });
    if (this.#counts.size > 10_000) this.sweep();
  }

  /** Drops every finished window. */
  sweep(): void {
    const window = this.#window();
    for (const [address, entry] of this.#counts)
      if (entry.window !== window) this.#counts.delete(address);
  }

  /** How many addresses are tracked. */
  get size(): number {
    return this.#counts.size;
  }
}

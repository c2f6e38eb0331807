/**
 * Failed authentication attempts are limited per client, so keys cannot be guessed at line
 * rate: after `maxFailures` failures in a fixed window, every request from that client is
 * refused with 429 until the window ends — before any key is looked up.
 *
 * A client is its IPv4 address, or the /64 network of its IPv6 address: one subscriber is
 * handed a whole /64, and counting each of its 2^64 addresses apart would let it fail forever.
 * Memory and time stay bounded whatever the clients do: only the current window is kept (the
 * counts are dropped whole when it ends), and at most {@link MAX_TRACKED_CLIENTS} clients are
 * counted in it — past that the one whose last failure is oldest is forgotten, in constant time.
 *
 * The same counter, keyed by email instead ({@link FAILED_SIGN_IN_LIMIT}), limits the
 * password guesses against one user, from however many addresses.
 */
import { LruMap } from "../cache/lru-map.ts";
import { forwardOnly } from "../clock/forward-only.ts";
import { KeygateError } from "../errors/keygate-error.ts";

/** The defaults: 30 failures per 60 seconds per client. */
export const FAILED_AUTH_LIMIT = { maxFailures: 30, windowSeconds: 60 };

/**
 * Failed sign-ins per email (login and password change): 10 per 15 minutes. The per-address
 * limit alone lets an attacker with many addresses keep guessing one user's password; this
 * caps the guesses at 10 per quarter hour however many addresses they come from.
 */
export const FAILED_SIGN_IN_LIMIT = {
  maxFailures: 10,
  windowSeconds: 15 * 60,
  message: "Too many failed sign-ins for this email: try again later.",
  clientOf: (email: string) => email,
};

/** How many clients one window counts at most. */
export const MAX_TRACKED_CLIENTS = 100_000;

const IPV4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** The eight groups of an IPv6 address (zone dropped), or undefined if it is not one. */
function ipv6Groups(address: string): string[] | undefined {
  const halves = (address.split("%")[0] ?? "").split("::");
  if (halves.length > 2) return undefined;
  const split = (half: string | undefined) => (half ? half.split(":") : []);
  const head = split(halves[0]);
  const tail = split(halves[1]);
  const last = halves.length === 2 ? tail : head;
  // A dotted IPv4 ending (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for the last two groups.
  if (last.at(-1)?.includes(".")) last.splice(-1, 1, "0", "0");
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [
    ...head,
    ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"),
    ...tail,
  ];
  if (!groups.every((group) => HEX_GROUP.test(group))) return undefined;
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}

/**
 * The client an address stands for: an IPv4 address (IPv4-mapped IPv6 included) as itself,
 * an IPv6 address as its /64 (`2001:db8:0:1::/64`); anything else as given.
 */
export function clientOf(address: string): string {
  if (!address.includes(":")) return address;
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) return mapped[1] as string;
  const groups = ipv6Groups(address);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** Counts failures per client in fixed windows aligned to the epoch. */
export class FailedAuthLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  /** Epoch ms that never go back (clock/forward-only.ts): a clock stepped back resets no count. */
  readonly #nowMs: () => number;
  readonly #message: string;
  readonly #clientOf: (subject: string) => string;
  /** Failures per client in the counted window; the client whose last failure is oldest goes first. */
  readonly #counts = new LruMap<string, number>({ maxEntries: MAX_TRACKED_CLIENTS });
  #countedWindow = Number.NaN;

  /**
   * `message`: what a refusal says (default: too many failures from this address); `clientOf`:
   * whom a subject counts against (default: an address's client, {@link clientOf}).
   */
  constructor(
    options: {
      maxFailures?: number;
      windowSeconds?: number;
      message?: string;
      clientOf?: (subject: string) => string;
      now?: () => Date;
    } = {},
  ) {
    this.#max = options.maxFailures ?? FAILED_AUTH_LIMIT.maxFailures;
    this.#windowMs = (options.windowSeconds ?? FAILED_AUTH_LIMIT.windowSeconds) * 1000;
    this.#message = options.message ?? "Too many failed authentication attempts from this address.";
    this.#clientOf = options.clientOf ?? clientOf;
    this.#nowMs = forwardOnly(options.now ?? (() => new Date()));
  }

  /** The counts of the current window: those of a finished one are dropped first. */
  #current(nowMs: number): LruMap<string, number> {
    const window = Math.floor(nowMs / this.#windowMs);
    if (window !== this.#countedWindow) {
      this.#counts.clear();
      this.#countedWindow = window;
    }
    return this.#counts;
  }

  /** Seconds until the client at `address` may try again, or 0 if it may now. */
  retryAfter(address: string): number {
    const nowMs = this.#nowMs();
    const failures = this.#current(nowMs).get(this.#clientOf(address)) ?? 0;
    if (failures < this.#max) return 0;
    return Math.max(1, Math.ceil(((this.#countedWindow + 1) * this.#windowMs - nowMs) / 1000));
  }

  /** Throws 429 `rate_limited` (with Retry-After) while the client at `address` is over the limit. */
  refuseIfBlocked(address: string): void {
    const wait = this.retryAfter(address);
    if (wait > 0) {
      throw new KeygateError("rate_limited", this.#message, undefined, wait);
    }
  }

  /** Records a failed attempt from `address`. */
  fail(address: string): void {
    this.#failAs(this.#clientOf(address));
  }

  /** Records a failed attempt from `client` (an address as {@link clientOf} counts it). */
  #failAs(client: string): void {
    const counts = this.#current(this.#nowMs());
    counts.set(client, (counts.get(client) ?? 0) + 1);
  }

  /**
   * Counts an attempt from `address` as failed before it is judged, for checks that take time
   * (a password's): attempts judged at the same time would otherwise each pass
   * {@link refuseIfBlocked} before any of them is counted, as many as arrive at once. Returns
   * the function that takes the count back — for an attempt that succeeded, or was never
   * judged — while its window lasts.
   */
  countInAdvance(address: string): () => void {
    const client = this.#clientOf(address);
    this.#failAs(client);
    const window = this.#countedWindow;
    return () => {
      const failures = this.#counts.get(client);
      if (this.#countedWindow !== window || failures === undefined) return;
      if (failures > 1) this.#counts.set(client, failures - 1);
      else this.#counts.delete(client);
    };
  }

  /**
   * How many clients are counted (those of a finished window too, until the next call drops
   * them): 0 means no request needs its address looked up.
   */
  get size(): number {
    return this.#counts.size;
  }
}

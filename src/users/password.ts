/**
 * Password hashing with scrypt (memory-hard; in node:crypto on Bun and Deno alike).
 * Stored form: `scrypt$N$r$p$<salt b64>$<hash b64>`, so the cost can rise without
 * invalidating older hashes.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { availableParallelism } from "node:os";
import { KeygateError } from "../errors/keygate-error.ts";

/** scrypt cost parameters. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** The default cost: N=2^15, r=8, p=1 — 32 MiB and tens of milliseconds per hash. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LENGTH = 32;

const options = ({ N, r, p }: ScryptCost) => ({ N, r, p, maxmem: 256 * N * r });

/**
 * scrypt on the thread pool, never on the event loop: at the default cost one hash is about
 * 100 ms of CPU here, and done inline it would stall every request the server is serving
 * meanwhile — one key creating users in a loop would hold the whole server.
 */
function scryptOffTheLoop(
  password: string,
  salt: Buffer,
  length: number,
  cost: ScryptCost,
): Promise<Buffer> {
  return passwordWork.run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize("NFKC"), salt, length, options(cost), (error, key) =>
          error ? reject(error) : resolve(key),
        ),
      ),
  );
}

/**
 * A bound on work that runs a few at a time, with a few more waiting; past that, refused at
 * once with 429 (`Retry-After: 1`) rather than queued without end.
 */
export class WorkGate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    /** How many run at once. */
    readonly concurrency: number,
    /** How many may wait for a turn. */
    readonly queue: number,
  ) {}

  /** Runs `work` when a turn is free, or throws `rate_limited` if too many already wait. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) this.#running++;
    else if (this.#waiting.length >= this.queue)
      throw new KeygateError(
        "rate_limited",
        "Too many passwords are being checked at once: try again in a moment.",
        undefined,
        1,
      );
    // A turn is handed straight from the work that ends to the first waiting.
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/**
 * All scrypt work of this process: sign-in is open to anyone and each guess costs ~100 ms of
 * CPU and 32 MiB, so a burst of sign-ins — from many addresses, before the failure limiters
 * have counted any — must not take every core from the requests being served. Half the cores
 * hash at once (one, on two), 32 more may wait (about three seconds' worth); the rest are 429.
 */
export const passwordWork = new WorkGate(Math.max(1, Math.floor(availableParallelism() / 2)), 32);

/** Hashes a password for storage, off the event loop. */
export async function hashPassword(
  password: string,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptOffTheLoop(password, salt, KEY_LENGTH, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/**
 * Checks a password against a stored hash, off the event loop, comparing in constant time.
 * An unreadable stored hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const cost = { N: Number(N), r: Number(r), p: Number(p) };
  const actual = await scryptOffTheLoop(
    password,
    Buffer.from(salt, "base64"),
    expected.length,
    cost,
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A short fingerprint of a stored password hash, carried in the management tokens issued
 * with it: when the password changes (a fresh salt, so even to the same password) the
 * fingerprint does, and the tokens issued before are refused. It reveals nothing usable: a
 * truncated SHA-256 of a salted scrypt hash.
 */
export function passwordFingerprint(stored: string): string {
  return createHash("sha256").update(stored).digest("base64url").slice(0, 16);
}

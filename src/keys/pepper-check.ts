/**
 * Which pepper a database's secrets are hashed with. A secret key is found by its hash, which
 * with `KEYGATE_PEPPER` is an HMAC under the pepper: a process started with another pepper, or
 * without the one the keys were made with, finds no key at all. It would answer every request
 * `api_key_invalid`, and a key it created or rotated would work nowhere else — a rotation with
 * no overlap would leave the key with no working secret. So the database records which pepper
 * its keys need, and such a process is refused before it hashes anything.
 *
 * The record is made when the evidence is certain: when `init` makes the first keys, and — in
 * a database made before the record existed — when the first key is found by its hash, which
 * proves the pepper in use. A process with the wrong pepper finds no key, so it never records
 * its own. The record holds `none`, or a slow, salted hash of the pepper (scrypt), never the
 * pepper: checking a guess at it against a stolen database costs an scrypt hash a guess.
 */
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { ConfigError } from "../config/config-error.ts";
import type { SqlConnection } from "../db/sql.ts";

const NO_PEPPER = "none";
const COST = { N: 16_384, r: 8, p: 1 };
const HASH_BYTES = 32;

function verifierOf(pepper: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(pepper, salt, HASH_BYTES, COST);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("hex"), hash.toString("hex")].join(":");
}

/** Whether `pepper` is the one `verifier` records; a verifier not of this form matches none. */
function pepperMatches(verifier: string, pepper: string | undefined): boolean {
  if (verifier === NO_PEPPER || pepper === undefined)
    return verifier === NO_PEPPER && pepper === undefined;
  const [scheme, N, r, p, salt, hash] = verifier.split(":");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "hex");
  try {
    const cost = { N: Number(N), r: Number(r), p: Number(p) };
    return timingSafeEqual(
      scryptSync(pepper, Buffer.from(salt, "hex"), expected.length, cost),
      expected,
    );
  } catch {
    return false; // parameters scrypt refuses (an edited row): no pepper matches them
  }
}

/** Why `pepper` is not the one recorded in `verifier` (recorded at `recordedAt`). */
function mismatch(verifier: string, pepper: string | undefined, recordedAt: string): string {
  const since = `(recorded ${recordedAt})`;
  const consequence =
    "every key would be refused as unknown, and a key created or rotated here would work nowhere else";
  if (pepper === undefined)
    return `KEYGATE_PEPPER is not set, but this database's keys are hashed with a pepper ${since}: ${consequence}. Set the pepper the database was made with`;
  if (verifier === NO_PEPPER)
    return `KEYGATE_PEPPER is set, but this database's keys are hashed without a pepper ${since}: ${consequence}. Unset it: a pepper cannot be added to a database that has keys`;
  return `KEYGATE_PEPPER is not the pepper this database's keys are hashed with ${since}: ${consequence}. Set the one the database was made with: a pepper cannot be changed for the life of a database`;
}

/** The database's record of its pepper, against the configured one. */
export class PepperCheck {
  readonly #sql: SqlConnection;
  readonly #pepper: string | undefined;
  #recorded: { verifier: string; recordedAt: string } | undefined;
  #problem: string | null | undefined; // undefined: not judged yet; null: none

  /** Reads the record; judges it against `pepper` only when asked to ({@link require}). */
  constructor(sql: SqlConnection, pepper: string | undefined) {
    this.#sql = sql;
    this.#pepper = pepper;
    this.#recorded = this.#read();
  }

  /** Whether no pepper is recorded yet: the next certain evidence records the configured one. */
  get unrecorded(): boolean {
    return this.#recorded === undefined;
  }

  /**
   * Throws {@link ConfigError} when the database records another pepper than the configured
   * one (or none where one is configured, or the reverse). Judged once (scrypt: ~40 ms).
   */
  require(): void {
    const problem = this.problem();
    if (problem) throw new ConfigError(problem);
  }

  /** What {@link require} would refuse with, if anything. Judged once (scrypt: ~40 ms). */
  problem(): string | undefined {
    if (this.#recorded === undefined) return undefined;
    this.#problem ??= pepperMatches(this.#recorded.verifier, this.#pepper)
      ? null
      : mismatch(this.#recorded.verifier, this.#pepper, this.#recorded.recordedAt);
    return this.#problem ?? undefined;
  }

  /**
   * Records the configured pepper as the one the database's keys need — call it only with
   * proof: this process made the database's first keys, or found a key by its hash. A record
   * already there (another process's) is kept, and this process is judged against it.
   *
   * Never throws: it runs after keys were made (whose secrets must still be shown) and inside
   * an authenticated request (which must still be answered). A write that fails (the database
   * locked by another process, a full disk) leaves it unrecorded, for the next proof to try.
   * With a pepper it costs one scrypt (~40 ms), once in the database's life.
   */
  record(now: Date): void {
    if (this.#recorded !== undefined) return;
    try {
      const verifier = this.#pepper === undefined ? NO_PEPPER : verifierOf(this.#pepper);
      this.#sql
        .prepare("INSERT OR IGNORE INTO pepper_check (id, verifier, recorded_at) VALUES (1, ?, ?)")
        .run(verifier, now.toISOString());
      this.#recorded = this.#read();
      if (this.#recorded?.verifier === verifier) this.#problem = null;
    } catch {
      // left unrecorded: the next proof records it
    }
  }

  #read(): { verifier: string; recordedAt: string } | undefined {
    const row = this.#sql
      .prepare<{ verifier: string; recorded_at: string }>(
        "SELECT verifier, recorded_at FROM pepper_check WHERE id = 1",
      )
      .get();
    return row ? { verifier: row.verifier, recordedAt: row.recorded_at } : undefined;
  }
}

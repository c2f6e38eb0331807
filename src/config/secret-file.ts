/**
 * The key files Keygate keeps beside its database (results, JWT and checkpoint keys), and what
 * the results and JWT keys must be, from the environment or from their files.
 */
import { writeFileSync } from "node:fs";

/**
 * Writes `content` to a new file at `path`, readable by its owner only (0600), unless a file
 * is already there — one kept from before, or made a moment ago by another process starting
 * on the same database. Returns whether this call wrote it.
 */
export function createSecretFile(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { mode: 0o600, flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return false;
  }
}

/** A server key Keygate takes from the environment, or else keeps in a file beside its database. */
export interface ServerKey {
  /** The variable that gives it. */
  variable: string;
  /** The file beside the database that keeps it otherwise. */
  file: string;
  /** What is wrong with `key` as this key, if anything (said after the variable or the file). */
  problem(key: string): string | undefined;
  /** What to do when its file is lost or damaged. */
  ifLost: string;
}

/** The HMAC key that signs management JWTs. */
export const JWT_KEY: ServerKey = {
  variable: "KEYGATE_JWT_SECRET",
  file: "keygate-jwt.key",
  // Anyone holding one token could otherwise guess a short key offline and sign their own.
  problem: (key) =>
    key.length < 32
      ? "must be at least 32 characters (an HS256 key of 256 bits or more, RFC 7518 §3.2)"
      : undefined,
  ifLost: "delete it: a new one is made at the next start, and signed-in users sign in again",
};

/** The key that wraps recorded results' data keys. */
export const RESULTS_KEY: ServerKey = {
  variable: "KEYGATE_RESULTS_KEY",
  file: "keygate-results.key",
  problem: (key) =>
    /^[0-9a-fA-F]{64}$/.test(key) ? undefined : "must be 64 hexadecimal characters (32 bytes)",
  ifLost: "move it away: the next start says whether a new one may be made",
};

/**
 * How secrets are stored: never raw. A secret key is stored as SHA-256 (HMAC-SHA-256 with
 * the server pepper when one is configured) and looked up by that hash. A key pair's secret
 * is hashed with a per-pair random salt and compared in constant time.
 */
import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto";

function digest(input: string, pepper: string | undefined): string {
  return pepper
    ? createHmac("sha256", pepper).update(input).digest("hex")
    : hash("sha256", input, "hex");
}

/** The lookup hash of a secret key. */
export function hashSecretKey(secret: string, pepper?: string): string {
  return digest(secret, pepper);
}

/** A fresh 16-byte salt, hex. */
export function newSalt(): string {
  return randomBytes(16).toString("hex");
}

/** The salted hash of a key pair's secret: SHA-256 (or HMAC with the pepper) of salt ‖ secret. */
export function hashPairSecret(secret: string, salt: string, pepper?: string): string {
  return digest(salt + secret, pepper);
}

/** Compares two hex digests in constant time. */
export function digestsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

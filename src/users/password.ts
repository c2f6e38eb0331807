/**
 * Password hashing with scrypt (memory-hard; in node:crypto on Bun and Deno alike).
 * Stored form: `scrypt$N$r$p$<salt b64>$<hash b64>`, so the cost can rise without
 * invalidating older hashes.
 */
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** The default cost: N=2^15, r=8, p=1 — 32 MiB and tens of milliseconds per hash. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, { N, r, p }: ScryptCost): Buffer {
  return scryptSync(password.normalize("NFKC"), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r });
}

/** Hashes a password for storage. */
export function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): string {
  const salt = randomBytes(16);
  const hash = derive(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** Checks a password against a stored hash in constant time. */
export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, N, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = derive(password, Buffer.from(salt, "base64"), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

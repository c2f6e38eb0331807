/**
 * The API key format of SPEC §1: `{prefix}_{env}_{body}` where body is 32 base62
 * characters, the first 26 from a CSPRNG and the last 6 a checksum, so a mistyped or
 * truncated key is refused without touching storage.
 *
 * checksum = base62(first 4 bytes of SHA-256("{prefix}_{env}_{first 26}") as a big-endian
 * unsigned integer), left-padded with "0" to 6 characters.
 */
import { hash } from "node:crypto";
import { BASE62 } from "../ids/index.ts";

/** The two environments a key can belong to. */
export type Environment = "live" | "test";

const RANDOM_LENGTH = 26;
const CHECKSUM_LENGTH = 6;
/** Length of the body after `{prefix}_{env}_`. */
export const KEY_BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH;

/** What a prefix may look like: 2–12 lowercase letters (sk, pk, ck, …). */
export const KEY_PREFIX_PATTERN = /^[a-z]{2,12}$/;

const SHAPE = /^([a-z]{2,12})_([a-z]+)_([0-9A-Za-z]+)$/;

/** Random base62 text from the CSPRNG, by rejection sampling (no modulo bias). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const byte of bytes) {
      const v = byte & 63;
      if (v < 62) out += BASE62[v];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(head: string): string {
  const digest = hash("sha256", head, "buffer");
  let n = digest.readUInt32BE(0);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Generates a new key such as `sk_live_…`. */
export function generateKey(prefix: string, environment: Environment): string {
  const head = `${prefix}_${environment}_${randomBase62(RANDOM_LENGTH)}`;
  return head + checksum(head);
}

/** Why a presented key is malformed. */
export type MalformedReason = "shape" | "prefix" | "environment" | "length" | "checksum";

/** The result of {@link parseKey}. */
export type ParsedKey =
  | { ok: true; prefix: string; environment: Environment }
  | { ok: false; reason: MalformedReason };

/**
 * Checks a presented key's shape, prefix, environment tag, length and checksum — no
 * storage involved. `prefix` is the prefix this deployment issues.
 */
export function parseKey(raw: string, prefix: string): ParsedKey {
  const parsed = parseKeyShape(raw, prefix);
  if (parsed.ok && !checksumValid(raw)) return { ok: false, reason: "checksum" };
  return parsed;
}

/**
 * {@link parseKey} without the checksum: the cheap checks of the text alone. Verification
 * uses it to recompute the checksum only for keys it is about to look up in storage.
 */
export function parseKeyShape(raw: string, prefix: string): ParsedKey {
  const match = SHAPE.exec(raw);
  if (!match) return { ok: false, reason: "shape" };
  const [, keyPrefix, environment, body] = match as unknown as [string, string, string, string];
  if (keyPrefix !== prefix) return { ok: false, reason: "prefix" };
  if (environment !== "live" && environment !== "test") return { ok: false, reason: "environment" };
  if (body.length !== KEY_BODY_LENGTH) return { ok: false, reason: "length" };
  return { ok: true, prefix: keyPrefix, environment };
}

/** Whether the last 6 characters of a key of the right shape are the checksum of the rest. */
export function checksumValid(raw: string): boolean {
  return checksum(raw.slice(0, raw.length - CHECKSUM_LENGTH)) === raw.slice(-CHECKSUM_LENGTH);
}

/** The display prefix: the first 16 characters (what CertoPay calls `prefix`). */
export function displayPrefix(key: string): string {
  return key.slice(0, 16);
}

/** The masked form: `{prefix}_{env}_••••` and the last 4 characters (part of the checksum). */
export function maskKey(key: string): string {
  const cut = key.lastIndexOf("_");
  return `${key.slice(0, cut + 1)}••••${key.slice(-4)}`;
}

/** Anything shaped like a key of any prefix: `sk_live_` and 32 base62 characters. */
const KEY_SHAPED = /[a-z]{2,12}_(?:live|test)_[0-9A-Za-z]{32}/g;
const HOLDS_KEY_SHAPED = new RegExp(KEY_SHAPED.source);

/**
 * Whether `text` holds anything shaped like a key of any prefix (a secret or a public key):
 * what must not be stored where a caller's text is kept for good.
 */
export function holdsKeyShapedText(text: string): boolean {
  return (text.includes("_live_") || text.includes("_test_")) && HOLDS_KEY_SHAPED.test(text);
}

/**
 * `text` with every key-shaped run in its masked form: for text that may hold what a client
 * sent (a path, an error message naming the id it was given) on its way to a log, a response
 * or a terminal. A key pasted where an id belongs is never written back whole.
 */
export function maskKeysIn(text: string): string {
  if (!text.includes("_live_") && !text.includes("_test_")) return text;
  return text.replace(KEY_SHAPED, maskKey);
}

/**
 * Verifying a presented API key against the hot key index: format and checksum first (no
 * storage), then the lookup, then every reason a known key may not act — in the order of
 * the SPEC's error table.
 *
 * The checksum is recomputed only when it can change the answer or keep a malformed key away
 * from storage: a key the index already holds in memory was issued here, so it is well formed,
 * and a hit answers at once (the checksum's SHA-256 was a sixth of an authenticated request's
 * own work). A key not in memory is checksummed before the tables are asked, and a failed
 * comparison is checksummed to tell `api_key_malformed` from `api_key_invalid`.
 */
import type { KeygateErrorCode } from "../errors/keygate-error.ts";
import { checksumValid, parseKeyShape } from "../keys/key-format.ts";
import { digestsEqual, hashPairSecret, hashSecretKey } from "../keys/secret-hash.ts";
import type { IndexedKey, IndexedSecret, KeyIndex, KeyMatch } from "../projections/key-index.ts";

/** What verification needs from the configuration. */
export interface KeyVerifierSettings {
  secretPrefix: string;
  publicPrefix: string;
  pepper: string | undefined;
}

/**
 * The outcome: the key (and whether the secret presented is one a rotation retired, still
 * working until its expiry), or the error code that refuses it — with the key, when it was
 * found and refused for its state (revoked, expired, its entity inactive).
 */
export type Verification =
  | { ok: true; key: IndexedKey; retiredSecret: boolean }
  | { ok: false; code: KeygateErrorCode; key?: IndexedKey };

const refuse = (code: KeygateErrorCode, key?: IndexedKey): Verification =>
  key ? { ok: false, code, key } : { ok: false, code };

function judge(key: IndexedKey, secret: IndexedSecret, now: Date): Verification {
  const at = now.getTime();
  if (key.status === "revoked") return refuse("api_key_revoked", key);
  if (secret.expiresAtMs !== null && secret.expiresAtMs <= at)
    return refuse("api_key_revoked", key);
  if (key.expiresAtMs !== null && key.expiresAtMs <= at) return refuse("api_key_expired", key);
  if (!key.entity.active) return refuse("entity_inactive", key);
  return { ok: true, key, retiredSecret: secret.expiresAtMs !== null };
}

/** Verifies a secret key presented as Bearer or in the API-key header. */
export function verifySecretKey(
  index: KeyIndex,
  settings: KeyVerifierSettings,
  secret: string,
  now: Date,
): Verification {
  if (!parseKeyShape(secret, settings.secretPrefix).ok) return refuse("api_key_malformed");
  const secretHash = hashSecretKey(secret, settings.pepper);
  let match: KeyMatch | undefined = index.cachedBySecretHash(secretHash);
  if (!match) {
    if (!checksumValid(secret)) return refuse("api_key_malformed");
    match = index.bySecretHash(secretHash);
  }
  // A pair's secret is salted, so it never matches here: pairs authenticate only as pairs.
  if (match?.key.kind !== "secret") return refuse("api_key_invalid");
  return judge(match.key, match.secrets[0] as IndexedSecret, now);
}

/** Verifies a key pair presented with HTTP Basic; the secret is compared in constant time. */
export function verifyKeyPair(
  index: KeyIndex,
  settings: KeyVerifierSettings,
  publicKey: string,
  secret: string,
  now: Date,
): Verification {
  const pk = parseKeyShape(publicKey, settings.publicPrefix);
  const sk = parseKeyShape(secret, settings.secretPrefix);
  if (!pk.ok || !sk.ok || pk.environment !== sk.environment) return refuse("api_key_malformed");
  let match = index.cachedByPublicKey(publicKey);
  if (!match) {
    if (!checksumValid(publicKey) || !checksumValid(secret)) return refuse("api_key_malformed");
    match = index.byPublicKey(publicKey);
    if (!match) return refuse("api_key_invalid");
  }
  let matched: IndexedSecret | undefined;
  for (const candidate of match.secrets) {
    // Compare against every stored secret so the time taken does not say which one matched.
    const hash = hashPairSecret(secret, candidate.salt ?? "", settings.pepper);
    if (digestsEqual(hash, candidate.secretHash)) matched = candidate;
  }
  if (!matched) return refuse(checksumValid(secret) ? "api_key_invalid" : "api_key_malformed");
  return judge(match.key, matched, now);
}

/**
 * A secret key in the URL of a request the gateway would forward (or forward-auth would let a
 * proxy forward): `GET /orders?api_key=sk_live_…` beside the key in `Authorization`, or a key
 * pasted into the path. The upstream must never receive a caller's secret (SPEC §7), and a URL
 * is what every server on the way writes to its access log, so such a request is refused
 * rather than sent on. Only text of this deployment's secret-key form with a valid checksum
 * counts — a real secret, not a public key (`pk_live_…`, an identifier) or a look-alike.
 */
import { invalidRequest, type KeygateError } from "../errors/keygate-error.ts";
import { checksumValid, KEY_BODY_LENGTH } from "../keys/key-format.ts";

/** The finders of each secret prefix's keys, built once per prefix. */
const finders = new Map<string, RegExp>();

function finderOf(secretPrefix: string): RegExp {
  let finder = finders.get(secretPrefix);
  if (!finder) {
    finder = new RegExp(`${secretPrefix}_(?:live|test)_[0-9A-Za-z]{${KEY_BODY_LENGTH}}`, "g");
    finders.set(secretPrefix, finder);
  }
  return finder;
}

/** Whether `text` holds a secret key of `secretPrefix` whose checksum is valid. */
function holdsSecret(text: string, secretPrefix: string): boolean {
  if (!text.includes("_live_") && !text.includes("_test_")) return false;
  for (const [found] of text.matchAll(finderOf(secretPrefix)))
    if (checksumValid(found)) return true;
  return false;
}

/** `text` percent-decoded where that is possible, else as it is. */
function decoded(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The refusal for a URL (`pathAndQuery`, as sent, or its percent-decoded form) that holds a
 * secret key of this deployment; undefined if it holds none. `param` names where the URL came
 * from (forward-auth's `X-Original-URI`), if not the request itself.
 */
export function secretInUrlRefusal(
  pathAndQuery: string,
  secretPrefix: string,
  param?: string,
): KeygateError | undefined {
  if (!holdsSecret(pathAndQuery, secretPrefix) && !holdsSecret(decoded(pathAndQuery), secretPrefix))
    return undefined;
  return invalidRequest(
    "The URL holds a secret API key. A URL is written to the logs of every server it passes, so the request is not forwarded: send the key in the Authorization header only, and rotate the key that was in the URL.",
    param,
  );
}

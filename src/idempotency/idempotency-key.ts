/**
 * Reading the `Idempotency-Key` header: a bare token or an RFC 8941 structured-field
 * string (`"…"`, as the IETF draft sends it), checked against the configured format.
 */
import { KeygateError } from "../errors/keygate-error.ts";
import { holdsKeyShapedText } from "../keys/key-format.ts";

/** Unwraps an sf-string (`"a\"b"` → `a"b`); undefined if it is not one. */
function unquoteStructuredString(value: string): string | undefined {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return undefined;
  let out = "";
  for (let i = 1; i < value.length - 1; i++) {
    const char = value[i] as string;
    if (char === "\\") {
      const next = value[++i];
      // RFC 8941 §3.3.3: only \" and \\ are escapes; the closing quote must not be escaped.
      if ((next !== '"' && next !== "\\") || i >= value.length - 1) return undefined;
      out += next;
    } else if (char === '"') {
      return undefined;
    } else {
      out += char;
    }
  }
  return out;
}

/**
 * The longest key tested against the configured pattern, whatever the pattern allows (Stripe's
 * limit): a longer header is refused without running the operator's regular expression on it,
 * so that no pattern can be made to backtrack over kilobytes of a client's text.
 */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The key the client sent, or a 400 `idempotency_key_invalid` that says what a key must
 * look like. An API key sent as an Idempotency-Key (it fits the default format) is refused
 * too: the Idempotency-Key is kept in the event log, which is append-only.
 */
export function readIdempotencyKey(header: string, pattern: RegExp): string {
  const trimmed = header.trim();
  const key = trimmed.startsWith('"') ? unquoteStructuredString(trimmed) : trimmed;
  if (key !== undefined && key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new KeygateError(
      "idempotency_key_invalid",
      `The Idempotency-Key header must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`,
    );
  }
  if (key === undefined || !pattern.test(key)) {
    throw new KeygateError(
      "idempotency_key_invalid",
      `The Idempotency-Key header must match ${pattern.source} (sent bare or as a quoted string).`,
    );
  }
  if (holdsKeyShapedText(key)) {
    throw new KeygateError(
      "idempotency_key_invalid",
      "The Idempotency-Key header must not be an API key: it would be kept in the append-only event log for good. If the key is a real one, rotate it.",
    );
  }
  return key;
}

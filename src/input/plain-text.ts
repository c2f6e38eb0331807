/**
 * The text callers choose — key and entity names, entity references, a revocation's reason,
 * emails — is plain text: no control characters. Such text is printed later, by `keygate
 * keys list` in an operator's terminal among other places, where a name holding an escape
 * sequence could rewrite what the screen shows (`ESC[2K`) and a bidirectional override could
 * show `key_abc` as something else. Nor may it hold an API key: the text is kept in events,
 * and the log is append-only, so a secret pasted into a name could never be removed from it.
 * Both are refused when given, as a clear 400 or exit 1.
 */
import { invalidRequest } from "../errors/keygate-error.ts";
import { holdsKeyShapedText } from "../keys/key-format.ts";

/**
 * C0 controls (tab and newline included), DEL and C1 controls (`\p{Cc}`), the line and paragraph
 * separators, and the bidirectional embeddings, overrides and isolates.
 */
const CONTROL = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const CONTROLS = new RegExp(CONTROL.source, "gu");

/** A character as its code point is written in messages: `U+000A`. */
export const codePoint = (c: string) =>
  `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * `value` unchanged, or `invalid_request` naming `param` if it holds a control character or
 * anything shaped like an API key.
 */
export function requirePlainText(value: string, param: string): string {
  const found = CONTROL.exec(value);
  if (found)
    throw invalidRequest(
      `${param} must be plain text: it holds the control character ${codePoint(found[0])}.`,
      param,
    );
  if (holdsKeyShapedText(value))
    throw invalidRequest(
      `${param} must not hold an API key: it would be kept in the append-only event log for good. If the key is a real one, rotate it.`,
      param,
    );
  return value;
}

/** A name (of a key or an entity): trimmed, 1–200 characters of plain text. */
export function checkName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0)
    throw invalidRequest("name must not be blank: it holds only white space.", "name");
  if (name.length > 200)
    throw invalidRequest(
      `name must be 1–200 characters, spaces at its ends aside; it has ${name.length}.`,
      "name",
    );
  return requirePlainText(name, "name");
}

/**
 * `text` with every control character written as `\u{…}`, for printing text stored before
 * it was refused, or that came from elsewhere, to a terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

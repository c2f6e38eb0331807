/**
 * Bytes read as UTF-8 text, strictly: a request body, the configuration file, a checkpoint an
 * auditor kept. Bytes that are not UTF-8 are refused by the caller rather than turned into
 * U+FFFD (a name, a path or a signature silently altered), and a leading byte-order mark —
 * which Windows editors write at the start of a UTF-8 file — is dropped, not read as text.
 */

/** Fatal on bad bytes; `ignoreBOM` left false, so a leading BOM is removed. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The text `bytes` hold, without a leading BOM; undefined if they are not UTF-8. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

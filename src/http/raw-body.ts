/**
 * Request bodies read as bytes before the route runs, never past the size limit, and parsed.
 * Those the idempotency plugin fingerprints (it hashes the body as sent) or a gateway route
 * selects its entity from are kept per request, so that whoever comes next (the proxy) sends
 * the same bytes; the others are not (a WeakMap entry per request costs the collector).
 */
import { invalidRequest, KeygateError, requestTooLarge } from "../errors/keygate-error.ts";
import { duplicateMember } from "../input/duplicate-member.ts";
import { utf8Text } from "../input/utf8-text.ts";
import { readUpTo } from "./body-prefix.ts";

const rawBodies = new WeakMap<Request, Uint8Array>();

/**
 * Reads `request`'s body whole and keeps it, refusing one over `limit` bytes with 413 — by
 * its Content-Length before reading, and by what arrived after.
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  const bytes = await readBody(request, limit);
  rawBodies.set(request, bytes);
  return bytes;
}

/**
 * Reads `request`'s body whole without keeping it, refusing one over `limit` bytes with 413:
 * by its Content-Length before reading (the server holds the body to that length), or — sent
 * in chunks, its length unknown — as soon as more than `limit` bytes have arrived, reading no
 * further (`request.bytes()` would take it all into memory first, however large).
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > limit) throw requestTooLarge(limit);
    return request.bytes();
  }
  const prefix = await readUpTo(request.body, limit);
  if (prefix.complete) return prefix.bytes;
  await prefix.rest.cancel().catch(() => {});
  throw requestTooLarge(limit);
}

/** The bytes already read from `request`'s body, if they were. */
export function rawBodyOf(request: Request): Uint8Array | undefined {
  return rawBodies.get(request);
}

/** Whether a parsed JSON value is an object (not an array, not null, not a scalar). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Refuses, with 415 `unsupported_content_encoding`, a body Keygate must read that was sent with
 * a `Content-Encoding` (gzip, br, …): it reads bodies as sent, without decompressing them — a
 * few compressed bytes can expand past any size limit. Left unsaid, gzip bytes were refused as
 * "not UTF-8 text". `identity` is no encoding. The answer's `Accept-Encoding: identity` says
 * what would be taken (RFC 9110 §15.5.16).
 */
export function refuseContentEncoding(request: Request): void {
  const sent = request.headers.get("content-encoding");
  if (sent === null) return;
  const codings = sent.split(",").map((coding) => coding.trim().toLowerCase());
  if (codings.every((coding) => coding === "" || coding === "identity")) return;
  throw new KeygateError(
    "unsupported_content_encoding",
    "The body is compressed (Content-Encoding); Keygate reads request bodies as sent: send it uncompressed, with no Content-Encoding.",
  );
}

/**
 * A body of one of Keygate's own routes, which all take JSON (SPEC §6), whatever the
 * `Content-Type` says (as Elysia's `parse: "json"` reads it). The bytes must be UTF-8
 * (RFC 8259 §8.1): any other encoding would reach storage with its non-ASCII characters
 * replaced by U+FFFD — a name silently altered — so it is refused instead. So is a member
 * given twice in one object (input/duplicate-member.ts). A leading BOM is dropped; an empty
 * body is no body (undefined).
 */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  const text = utf8Text(bytes);
  if (text === undefined)
    throw invalidRequest(
      "The body is not UTF-8 text: JSON is exchanged in UTF-8 (RFC 8259 §8.1); send it as UTF-8.",
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest("The body is not valid JSON.");
  }
  const twice = duplicateMember(text);
  if (twice !== undefined)
    throw invalidRequest(
      `${twice || '""'} is given twice in its object; name each member once (readers disagree on which of the two counts).`,
      twice || undefined,
    );
  return value;
}

/**
 * Parses body bytes the way Elysia's own parsers would have: JSON, URL-encoded and multipart
 * forms, text; with no type, JSON if it parses, else text; anything else stays bytes. An empty
 * body is no body (undefined).
 */
export async function parseRawBody(bytes: Uint8Array, contentType: string): Promise<unknown> {
  if (bytes.length === 0) return undefined;
  const type = contentType.toLowerCase();
  if (type.includes("json")) return JSON.parse(new TextDecoder().decode(bytes));
  if (type === "") {
    const text = new TextDecoder().decode(bytes);
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (type.startsWith("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(bytes)));
  if (type.startsWith("multipart/form-data"))
    return Object.fromEntries(
      await new Response(bytes, { headers: { "content-type": contentType } }).formData(),
    );
  if (type.startsWith("text/")) return new TextDecoder().decode(bytes);
  return bytes.buffer;
}

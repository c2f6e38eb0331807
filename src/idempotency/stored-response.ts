/**
 * A handler's response as recorded for replay: status, content headers and body bytes —
 * or, when the body was over the size cap, everything but the body. The serialised form is
 * what gets sealed; it never reaches the log unencrypted.
 */

/** A recorded response. */
export interface StoredResponse {
  status: number;
  /** The content headers (`content-type`, `location`, `cache-control`, …), lower case. */
  headers: [string, string][];
  /** The body, or null when it exceeded the size cap and was not kept. */
  body: Uint8Array | null;
  /** The size of the body as it was sent. */
  bodyBytes: number;
  /** The scopes of the caller the response was produced for (a replay must hold them all). */
  callerScopes: readonly string[];
  /**
   * The most that caller could grant, as ratelimit/grantable-rate.ts reckons it (null: no
   * ceiling), and when it expires (null: never): a replay must be allowed as much and live as
   * long. Undefined in results recorded before 2026-11-24, which are replayed on scopes alone.
   */
  callerLimit?: { limit: number; window_seconds: number } | null;
  callerExpiresAtMs?: number | null;
}

interface Meta {
  s: number;
  h: [string, string][];
  n: number;
  c: readonly string[];
  l?: StoredResponse["callerLimit"];
  x?: StoredResponse["callerExpiresAtMs"];
  /** Whether the body follows the metadata. */
  b: boolean;
}

/**
 * The response as bytes to seal: a 4-byte big-endian length, that many bytes of JSON
 * metadata (status, headers, sizes, the caller's scopes, limit and expiry), then the body
 * bytes as they are.
 */
export function serialiseStoredResponse(response: StoredResponse): Uint8Array {
  const meta: Meta = {
    s: response.status,
    h: response.headers,
    n: response.bodyBytes,
    c: response.callerScopes,
    l: response.callerLimit,
    x: response.callerExpiresAtMs,
    b: response.body !== null,
  };
  const head = Buffer.from(JSON.stringify(meta));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, response.body ?? new Uint8Array(0)]);
}

/** The response back from its bytes. */
export function parseStoredResponse(bytes: Uint8Array): StoredResponse {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = buffer.readUInt32BE(0);
  const meta = JSON.parse(buffer.toString("utf8", 4, 4 + length)) as Meta;
  return {
    status: meta.s,
    headers: meta.h,
    body: meta.b ? buffer.subarray(4 + length) : null,
    bodyBytes: meta.n,
    callerScopes: meta.c,
    ...(meta.l === undefined ? {} : { callerLimit: meta.l }),
    ...(meta.x === undefined ? {} : { callerExpiresAtMs: meta.x }),
  };
}

/**
 * Headers a replay repeats: the content headers, `Location`, and `Cache-Control` (a response
 * that must not be cached, such as a new key's secret, stays so on every replay). Everything
 * else (ids, rate limits) belongs to each request.
 */
export function isReplayedHeader(name: string): boolean {
  return (
    (name.startsWith("content-") && name !== "content-length") ||
    name === "location" ||
    name === "cache-control"
  );
}

/**
 * A handler's response as recorded for replay: status, content headers and body bytes —
 * or, when the body was over the size cap, everything but the body. The serialised form is
 * what gets sealed; it never reaches the log unencrypted.
 */

/** A recorded response. */
export interface StoredResponse {
  status: number;
  /** The content headers (`content-type`, `content-language`, `location`, …), lower case. */
  headers: [string, string][];
  /** The body, or null when it exceeded the size cap and was not kept. */
  body: Uint8Array | null;
  /** The size of the body as it was sent. */
  bodyBytes: number;
  /** The scopes of the caller the response was produced for (a replay must hold them all). */
  callerScopes: readonly string[];
}

interface Serialised {
  s: number;
  h: [string, string][];
  b: string | null;
  n: number;
  c: readonly string[];
}

/** The response as bytes to seal. */
export function serialiseStoredResponse(response: StoredResponse): Uint8Array {
  const form: Serialised = {
    s: response.status,
    h: response.headers,
    b: response.body === null ? null : Buffer.from(response.body).toString("base64"),
    n: response.bodyBytes,
    c: response.callerScopes,
  };
  return Buffer.from(JSON.stringify(form));
}

/** The response back from its bytes. */
export function parseStoredResponse(bytes: Uint8Array): StoredResponse {
  const form = JSON.parse(Buffer.from(bytes).toString("utf8")) as Serialised;
  return {
    status: form.s,
    headers: form.h,
    body: form.b === null ? null : Buffer.from(form.b, "base64"),
    bodyBytes: form.n,
    callerScopes: form.c,
  };
}

/** Headers a replay repeats; everything else (ids, rate limits) belongs to each request. */
export function isContentHeader(name: string): boolean {
  return (name.startsWith("content-") && name !== "content-length") || name === "location";
}

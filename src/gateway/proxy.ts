/**
 * Forwarding one authenticated request to the upstream, bodies streamed both ways. The
 * upstream receives the caller's identity as `X-Keygate-*` headers and never its credential;
 * hop-by-hop headers (RFC 9110 §7.6.1) go no further than this hop in either direction.
 */

import type { Identity } from "../auth/identity.ts";
import { KeygateError, requestTooLarge } from "../errors/keygate-error.ts";
import { dashed } from "./ambiguous-request.ts";
import { type SelectedEntity, selectedEntityOf } from "./entity-selection.ts";

/** The identity headers an upstream (or a proxy using forward-auth) receives. */
export interface IdentityHeaders {
  "x-keygate-key-id": string;
  "x-keygate-entity-id": string;
  "x-keygate-entity-path": string;
  "x-keygate-livemode": string;
  "x-keygate-scopes": string;
}

/** The `X-Keygate-*` headers for a key acting for `entity`. Path: ids joined by `/`; scopes: by spaces. */
export function identityHeaders(
  keyId: string,
  entity: SelectedEntity,
  livemode: boolean,
  scopes: readonly string[],
): IdentityHeaders {
  return {
    "x-keygate-key-id": keyId,
    "x-keygate-entity-id": entity.id,
    "x-keygate-entity-path": entity.path.join("/"),
    "x-keygate-livemode": String(livemode),
    "x-keygate-scopes": scopes.join(" "),
  };
}

/** The identity headers for the key behind `identity`, acting for the entity its request selected. */
export function identityHeadersOf(
  request: Request,
  identity: Extract<Identity, { type: "api_key" }>,
): IdentityHeaders {
  return identityHeaders(
    identity.key.id,
    selectedEntityOf(request, identity),
    identity.environment === "live",
    identity.scopes,
  );
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Whether a header stops at this hop: a hop-by-hop one, or one that `Connection` names. */
function isHopByHop(name: string, connection: Set<string>): boolean {
  return HOP_BY_HOP.has(name) || connection.has(name);
}

function connectionTokens(headers: Headers): Set<string> {
  const value = headers.get("connection");
  return new Set(value ? value.split(",").map((t) => t.trim().toLowerCase()) : []);
}

/**
 * The headers that may carry a caller's key, lower-cased, which never go upstream:
 * `Authorization`, the configured API-key header, and `X-Api-Key` even where that scheme is
 * switched off or renamed — a client that sends its key there by habit (or beside its Bearer
 * credential) must not hand the secret to the upstream, which may log it.
 */
export function credentialHeadersOf(apiKeyHeader: string | false): ReadonlySet<string> {
  const names = ["authorization", "x-api-key"];
  if (apiKeyHeader) names.push(apiKeyHeader.toLowerCase());
  return new Set(names);
}

/** What the upstream request carries besides the client's own headers. */
export interface ForwardedFor {
  identity: IdentityHeaders;
  /** The credential headers to drop, lower-cased ({@link credentialHeadersOf}). */
  credentialHeaders: ReadonlySet<string>;
  /** The client's address, for `X-Forwarded-For`, when it is to be sent. */
  clientAddress: string | undefined;
  /** `X-Forwarded-Proto`: the scheme the client used (see gateway/index.ts). */
  proto: string;
  requestId: string;
  correlationId: string;
}

/**
 * Whether a header (spelled with `-`) describes the connection a proxy received: `Forwarded`,
 * `X-Real-IP` and every `X-Forwarded-*`. An upstream believes these from its proxy — Keygate —
 * so a client's own never pass: Keygate sets `X-Forwarded-Host` and `-Proto` itself, and
 * `X-Forwarded-For` when `gateway.forwarded_for` is on (appended to the client's, as nginx's
 * `$proxy_add_x_forwarded_for` does).
 */
const describesConnection = (spelled: string) =>
  spelled.startsWith("x-forwarded-") || spelled === "forwarded" || spelled === "x-real-ip";

/**
 * The headers sent upstream: the client's, less credentials, hop-by-hop, `X-Keygate-*` and
 * those that describe the connection — each in any spelling of `-` as `_` — and `Expect`: its
 * `100-continue` was met at this hop (the server answered it and read the body), so, as
 * nginx's proxy does, it goes no further.
 */
export function upstreamHeaders(inbound: Headers, forwarded: ForwardedFor): Headers {
  const connection = connectionTokens(inbound);
  const headers = new Headers();
  for (const [name, value] of inbound) {
    if (isHopByHop(name, connection) || name === "host" || name === "expect") continue;
    const spelled = dashed(name);
    if (forwarded.credentialHeaders.has(spelled) || spelled.startsWith("x-keygate-")) continue;
    if (describesConnection(spelled)) continue;
    headers.append(name, value);
  }
  for (const [name, value] of Object.entries(forwarded.identity)) headers.set(name, value);
  if (forwarded.clientAddress !== undefined) {
    const prior = inbound.get("x-forwarded-for");
    headers.set(
      "x-forwarded-for",
      prior ? `${prior}, ${forwarded.clientAddress}` : forwarded.clientAddress,
    );
  }
  const host = inbound.get("host");
  if (host) headers.set("x-forwarded-host", host);
  headers.set("x-forwarded-proto", forwarded.proto);
  headers.set("x-request-id", forwarded.requestId);
  headers.set("x-correlation-id", forwarded.correlationId);
  return headers;
}

/** Response headers holding a URL that may name the upstream. */
const URL_HEADERS = ["location", "content-location"];

/** A URL scheme at the start: the value is an absolute URL, not a reference to resolve. */
const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:/i;

/**
 * `value` as the client must see it, if it names the upstream: an absolute URL under the
 * upstream's base (`http://127.0.0.1:4000/links/lnk_1`) becomes the path the client asks for
 * it by (`/links/lnk_1`), as nginx's `proxy_redirect default` does. Anything else (a relative
 * reference, another host) is left as sent: undefined.
 */
export function clientUrlOf(value: string, upstream: string): string | undefined {
  if (!ABSOLUTE_URL.test(value)) return undefined;
  let target: URL;
  let base: URL;
  try {
    target = new URL(value);
    base = new URL(upstream);
  } catch {
    return undefined;
  }
  const prefix = base.pathname.replace(/\/+$/, "");
  const path = target.pathname;
  if (target.origin !== base.origin || !(path === prefix || path.startsWith(`${prefix}/`)))
    return undefined;
  return `${path.slice(prefix.length) || "/"}${target.search}${target.hash}`;
}

/**
 * The upstream response as the client gets it: hop-by-hop headers removed, a `Location` or
 * `Content-Location` naming the upstream turned into the client's path ({@link clientUrlOf}),
 * and Keygate's own headers (`own`: its request and correlation ids, its rate-limit fields)
 * in place of any the upstream sent under the same names — the client's `X-Request-Id` is the
 * one in Keygate's log, and its `X-RateLimit-*` are Keygate's limits (SPEC §3, §4). In place
 * where the runtime lets a fetched response's headers change (Bun), so the response is passed
 * on with its body streaming through untouched; where they are immutable (Deno), on a new
 * response around the same body stream.
 */
export function forClient(
  response: Response,
  upstream: string,
  own: Record<string, unknown>,
): Response {
  const connection = connectionTokens(response.headers);
  const edits: [name: string, value: string | null][] = [];
  for (const name of response.headers.keys())
    if (isHopByHop(name, connection)) edits.push([name, null]);
  for (const name in own) if (response.headers.has(name)) edits.push([name, String(own[name])]);
  for (const name of URL_HEADERS) {
    const value = response.headers.get(name);
    const local = value === null ? undefined : clientUrlOf(value, upstream);
    if (local !== undefined) edits.push([name, local]);
  }
  if (edits.length === 0) return response;
  const apply = (headers: Headers) => {
    for (const [name, value] of edits)
      if (value === null) headers.delete(name);
      else headers.set(name, value);
  };
  try {
    apply(response.headers);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    apply(headers);
    const { status, statusText, body } = response;
    return new Response(body, { status, statusText, headers });
  }
}

/** A request body as a stream that fails with 413 past `limit` bytes. */
export function limitedBody(body: ReadableStream<Uint8Array>, limit: number) {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(requestTooLarge(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/** What became of a request sent upstream. */
export type UpstreamOutcome =
  | {
      kind: "answered";
      response: Response;
      /** Breaks the connection, the body's stream included (a body that stalls). */
      abort(): void;
    }
  /** Refused, unreachable, or the body failed before it was sent: the upstream acted on nothing. */
  | { kind: "unreachable"; error: unknown }
  | { kind: "timeout" }
  | { kind: "refused"; error: KeygateError }
  /** Answered with a status no client can be given ({@link passableStatus}): it may have acted. */
  | { kind: "invalid"; status: number };

/**
 * Whether an upstream's status can be passed on to the client: 200–599. `fetch` hands over any
 * three digits an upstream sends (`999`, `099`), which no `Response` can be made with — the
 * answer would fail inside the server, a 500 of Keygate's own — and Deno's `fetch` hands over a
 * `101 Switching Protocols` no request asked for (Bun's fails it), which Deno's server would
 * pass on, leaving the client on a connection switched to a protocol the gateway does not carry.
 */
const passableStatus = (status: number) => status >= 200 && status <= 599;

/**
 * Whether this runtime's fetch decodes gzip and br bodies with no way to turn it off, yet keeps
 * their `Content-Encoding` and `Content-Length` (Deno: denoland/deno#12291, #35124). Passed on,
 * such a body would reach the client decoded but labelled encoded. The one request under which
 * Deno leaves a body as sent is `Accept-Encoding: identity`, so on Deno the upstream is asked
 * for that; Deno's server then compresses for the client itself when the client accepts it.
 */
const FETCH_ALWAYS_DECODES = "Deno" in globalThis;

/**
 * The failures (Bun's fetch error codes) after which the upstream cannot have received the
 * request: the connection was refused or never opened (no route to the host), the name did not
 * resolve, or the upstream's TLS certificate was refused during the handshake — before a byte
 * of the request was sent (OpenSSL's names for a certificate it could not verify, and for a
 * name it does not cover). Deno's fetch gives no such codes: its failures count as possibly
 * delivered.
 */
const NEVER_DELIVERED = new Set([
  "ConnectionRefused",
  "ECONNREFUSED",
  "ENOTFOUND",
  "FailedToOpenSocket",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Whether the fetch that failed with `error` cannot have delivered the request to the upstream. */
export function neverDelivered(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && NEVER_DELIVERED.has(code);
}

/** Sends the request upstream; never throws. Bodies are not decompressed on the way back. */
export async function sendUpstream(
  url: string,
  init: { method: string; headers: Headers; body: RequestInit["body"] | null; timeoutMs: number },
): Promise<UpstreamOutcome> {
  // The timeout covers the wait for the response's head; its body then streams for as long as
  // the upstream keeps sending.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, init.timeoutMs);
  if (FETCH_ALWAYS_DECODES) init.headers.set("accept-encoding", "identity");
  try {
    const response = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: "manual",
      signal: abort.signal,
      decompress: false,
      duplex: "half",
    } as RequestInit);
    if (!passableStatus(response.status)) {
      abort.abort();
      return { kind: "invalid", status: response.status };
    }
    return { kind: "answered", response, abort: () => abort.abort() };
  } catch (error) {
    if (error instanceof KeygateError) return { kind: "refused", error };
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof KeygateError) return { kind: "refused", error: cause };
    if (timedOut) return { kind: "timeout" };
    return { kind: "unreachable", error };
  } finally {
    clearTimeout(timer);
  }
}

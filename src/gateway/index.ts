/**
 * Gateway mode (SPEC §7): every configured route (method + path pattern) is authenticated,
 * scope-checked, entity-selected, rate-limited and made idempotent by the same guard as
 * Keygate's own routes, then proxied to the upstream with its body streamed. Paths no route
 * names are 404 in the envelope, like any unknown route.
 *
 * A gateway answer the upstream never produced (502 unreachable, 504 timeout, 413 over the
 * body limit) is never recorded for Idempotency-Key replay: a retry is sent again, with the
 * same `Idempotency-Key` header, so an upstream that deduplicates keeps it exactly-once.
 */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import type { Identity } from "../auth/identity.ts";
import type { AddressList } from "../config/address-list.ts";
import type { GatewayRoute } from "../config/gateway-config.ts";
import { invalidRequest, KeygateError, requestTooLarge } from "../errors/keygate-error.ts";
import { readUpTo, resumed } from "../http/body-prefix.ts";
import { keygateGuard } from "../http/guard.ts";
import { documented, operationIdOf } from "../http/openapi.ts";
import { type PeerLookup, peerAddressOrUnknown } from "../http/peer-address.ts";
import { rawBodyOf, readRawBody } from "../http/raw-body.ts";
import { routeServes } from "../http/route-method.ts";
import { forgoRecording, isRecorded } from "../idempotency/index.ts";
import { ambiguousPathFault, overrideRefusal } from "./ambiguous-request.ts";
import { withLengthForHead } from "./head-length.ts";
import { type ConnectionTimeouts, withIdleTimeoutLifted } from "./idle-connection.ts";
import {
  credentialHeadersOf,
  forClient,
  identityHeadersOf,
  limitedBody,
  neverDelivered,
  sendUpstream,
  type UpstreamOutcome,
  upstreamHeaders,
} from "./proxy.ts";
import { secretInUrlRefusal } from "./secret-in-url.ts";

/**
 * The envelope error for an upstream that gave no answer; the runtime's error is its cause, so
 * that the operator's report (stderr) says why (`ECONNREFUSED`, `self signed certificate`, …).
 */
function upstreamFailure(outcome: Exclude<UpstreamOutcome, { kind: "answered" }>): KeygateError {
  if (outcome.kind === "refused") return outcome.error;
  if (outcome.kind === "timeout") return new KeygateError("upstream_timeout");
  if (outcome.kind === "invalid")
    return new KeygateError(
      "upstream_unreachable",
      `The upstream service answered with status ${outcome.status}, which cannot be passed on; the request may have taken effect.`,
    );
  const failure = neverDelivered(outcome.error)
    ? new KeygateError("upstream_unreachable")
    : new KeygateError(
        "upstream_unreachable",
        "The connection to the upstream service failed; the request may have taken effect.",
      );
  failure.cause = outcome.error;
  return failure;
}

/**
 * Whether a GET or HEAD request came with a body. The runtime hands the server such a body as
 * none at all, and `fetch` sends none: forwarded, it would reach the upstream without it.
 */
function bodyOnGet(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const length = request.headers.get("content-length");
  return (length !== null && length.trim() !== "0") || request.headers.has("transfer-encoding");
}

/**
 * The request body to forward, checked against the size limit. A GET's or HEAD's body, which
 * could only be dropped on the way, is refused instead.
 */
function bodyToForward(request: Request, limit: number): RequestInit["body"] | null {
  if (bodyOnGet(request))
    throw invalidRequest(
      `A ${request.method} request cannot carry a body through the gateway (it would reach the upstream without it): send the body with POST, or none.`,
    );
  const read = rawBodyOf(request);
  if (read) {
    if (read.length > limit) throw requestTooLarge(limit);
    return read.length === 0 ? null : read;
  }
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw requestTooLarge(limit);
  if (!request.body) return null;
  return declared !== null ? request.body : limitedBody(request.body, limit);
}

/**
 * `X-Forwarded-Proto` for the upstream: the scheme the request reached Keygate by (`https`
 * when Keygate serves TLS), or — when a trusted proxy terminated TLS in front of Keygate — the
 * `http`/`https` that proxy sent. A client's own value is not believed. The peer is looked up
 * only when the header is there: the lookup costs Bun's server a quarter of its throughput.
 */
function forwardedProto(
  url: URL,
  request: Request,
  server: PeerLookup | null | undefined,
  trustedProxies: AddressList,
): string {
  const own = url.protocol === "https:" ? "https" : "http";
  const sent = request.headers.get("x-forwarded-proto")?.trim().toLowerCase();
  if (sent !== "http" && sent !== "https") return own;
  return trustedProxies.has(peerAddressOrUnknown(request, server)) ? sent : own;
}

/**
 * Proxies one authenticated request for the route whose pattern is `routePath`; the response
 * streams back as the upstream sends it.
 */
async function proxy(
  kg: Keygate,
  upstream: string,
  routePath: string,
  request: Request,
  identity: Identity,
  set: { status?: number | string; headers: Record<string, unknown> },
  server: (PeerLookup & Partial<ConnectionTimeouts>) | null | undefined,
  credentialHeaders: ReadonlySet<string>,
): Promise<Response> {
  const gateway = kg.config.gateway;
  if (identity.type !== "api_key")
    throw new Error("unreachable: gateway routes take API keys only");
  const url = new URL(request.url);
  const clientAddress = gateway.forwardedFor ? peerAddressOrUnknown(request, server) : undefined;
  const proto = forwardedProto(url, request, server, gateway.trustedProxies);
  let body: RequestInit["body"] | null;
  try {
    const ambiguous = ambiguousPathFault(url.pathname);
    if (ambiguous)
      throw invalidRequest(
        `The path ${ambiguous}; an upstream may route it differently from Keygate, so it is refused.`,
      );
    const refused =
      overrideRefusal(request.headers, url.search, request.method) ??
      secretInUrlRefusal(`${url.pathname}${url.search}`, kg.config.keys.secretPrefix);
    if (refused) throw refused;
    body = bodyToForward(request, gateway.maxBodyBytes);
  } catch (error) {
    forgoRecording(request);
    throw error;
  }
  const headers = upstreamHeaders(request.headers, {
    identity: identityHeadersOf(request, identity),
    credentialHeaders,
    clientAddress,
    proto,
    requestId: String(set.headers["x-request-id"] ?? ""),
    correlationId: String(set.headers["x-correlation-id"] ?? ""),
  });
  return withIdleTimeoutLifted(request, server, kg.config.idleTimeoutSeconds, async () => {
    const sentAt = performance.now();
    const outcome = await sendUpstream(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body,
      timeoutMs: gateway.timeoutMs,
    });
    if (outcome.kind !== "answered") {
      forgoRecording(request);
      throw upstreamFailure(outcome);
    }
    kg.metrics.observeUpstream(routePath, (performance.now() - sentAt) / 1000);
    const response = forClient(outcome.response, upstream, set.headers);
    if (isRecorded(request))
      return await readForRecord(
        request,
        response,
        outcome.abort,
        gateway.timeoutMs,
        kg.config.idempotency.maxResponseBytes,
      );
    return request.method === "HEAD" ? withLengthForHead(response) : response;
  });
}

/**
 * The upstream's answer read for a request whose answer is recorded: whole, if it is no larger
 * than the recording cap — within `timeoutMs` of its head — and otherwise its first bytes, the
 * rest then streaming on to the client (over the cap it is not kept, and is never held in
 * memory whole). A body that breaks off first is the upstream's failure after it may have
 * acted: 502 `upstream_unreachable` ("may have taken effect"); one that stalls past the timeout
 * is cut and answered 504 `upstream_timeout`. Neither is recorded, so a retry goes upstream
 * again with the same `Idempotency-Key` — instead of a 500 from Keygate, or a key held
 * "in use" for as long as the upstream keeps the stream open.
 */
async function readForRecord(
  request: Request,
  response: Response,
  abort: () => void,
  timeoutMs: number,
  cap: number,
): Promise<Response> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort();
  }, timeoutMs);
  try {
    const prefix = await readUpTo(response.body, cap);
    const { status, statusText, headers } = response;
    return new Response(prefix.complete ? prefix.bytes : resumed(prefix), {
      status,
      statusText,
      headers,
    });
  } catch (error) {
    forgoRecording(request);
    throw upstreamFailure(timedOut ? { kind: "timeout" } : { kind: "unreachable", error });
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a route reads its body before the handler (to select its entity from it). */
function readsBody(route: GatewayRoute): boolean {
  return route.entity?.from === "body";
}

/** Whether a request (its method, and the pattern of the route it matched) is the gateway's. */
export type GatewayRouteTest = (method: string, route: string) => boolean;

/**
 * Which requests are the gateway's (none without an upstream): they stream their bodies on, and
 * their paths, queries and bodies are their upstream's. A HEAD is, when its GET route is: the
 * server answers it with the GET route.
 */
export function gatewayRouteTest(kg: Keygate): GatewayRouteTest {
  const { upstream, routes } = kg.config.gateway;
  const declared = upstream ? routes : [];
  return (method, route) => declared.some((r) => r.path === route && routeServes(r.method, method));
}

/** The gateway routes, mounted on the app after Keygate's own. */
export function gatewayRoutes(kg: Keygate) {
  const { upstream, routes } = kg.config.gateway;
  const app = new Elysia({ name: "keygate/gateway", normalize: false }).use(keygateGuard(kg));
  if (!upstream) return app;
  const { maxBodyBytes: limit } = kg.config.gateway;
  const credentialHeaders = credentialHeadersOf(kg.config.auth.apiKeyHeader);
  for (const route of routes) {
    app.route(
      route.method,
      route.path,
      ({ request, set, server, identity }) =>
        proxy(kg, upstream, route.path, request, identity, set, server, credentialHeaders),
      {
        scopes: {
          all: route.scopes,
          ...(route.entity ? { entity: { selector: route.entity, routePath: route.path } } : {}),
        },
        // Elysia would parse the body itself; this parser keeps it a stream instead, except on a
        // route that selects its entity from the body, which reads it before the guard runs
        // (unless the idempotency plugin read it already). The value is only a marker.
        parse: ({ request }: { request: Request }) =>
          rawBodyOf(request) || !readsBody(route)
            ? null
            : readRawBody(request, limit).then((bytes) => bytes.length),
        detail: documented({
          summary: `Forwarded to the upstream${route.scopes.length ? ` (needs ${route.scopes.join(", ")})` : ""}`,
          id: operationIdOf(route.method, route.path),
          tag: "Gateway",
          returns: "upstream",
          // Keygate reads the body it selects the entity from: a compressed one is 415.
          ...(readsBody(route) ? { errorHeaders: ["Accept-Encoding"] as const } : {}),
        }),
      },
    );
  }
  return app;
}

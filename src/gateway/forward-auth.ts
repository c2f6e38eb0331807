/**
 * `GET /v1/forward-auth` (SPEC §7): authentication for a proxy in front — nginx
 * `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`. The original method and URI
 * (`X-Original-Method` / `X-Original-URI`, or Traefik's and Caddy's `X-Forwarded-Method` /
 * `X-Forwarded-Uri`) pick the gateway route; the request is then authenticated, scope-checked,
 * entity-selected and rate-limited as the gateway would, and answered 200 with the
 * `X-Keygate-*` identity headers, or the error status and envelope. Every answer also carries
 * `X-Keygate-Error` (the envelope, ASCII only), since nginx cannot pass a subrequest's body on.
 *
 * With no gateway routes configured, every request needs only a valid key.
 *
 * Idempotency-Key is not handled here: the proxy, not Keygate, sees the upstream's response.
 * The client address is read from `X-Real-IP` / `X-Forwarded-For` only when the caller is a
 * trusted proxy (`gateway.trusted_proxies`, loopback by default).
 */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { authenticate, requirementObject } from "../auth/index.ts";
import type { GatewayRoute } from "../config/gateway-config.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { IDENTITY_HEADERS } from "../http/api-headers.ts";
import { documented } from "../http/openapi.ts";
import { clientAddress } from "../http/peer-address.ts";
import {
  answerFailure,
  type InternalErrorReporter,
  reportToStderr,
} from "../http/request-context.ts";
import { routeFinder } from "../http/route-finder.ts";
import { rateLimitChecks } from "../ratelimit/index.ts";
import {
  ambiguousPathFault,
  overrideRefusal,
  spoofedIdentityHeaderOf,
} from "./ambiguous-request.ts";
import { entitySelectionStep } from "./entity-selection.ts";
import { identityHeadersOf } from "./proxy.ts";
import { secretInUrlRefusal } from "./secret-in-url.ts";

/** nginx's names for the original request (set in its `auth_request` location). */
const NGINX_NAMES = ["x-original-method", "x-original-uri"] as const;
/** Traefik's and Caddy's names for it (set by their forward-auth). */
const FORWARDED_NAMES = ["x-forwarded-method", "x-forwarded-uri"] as const;

/**
 * The original request's method and URI, from the one pair of headers the proxy set. A proxy
 * sets one pair and passes the client's other headers on, so a request carrying both pairs
 * has one from the client — behind Caddy or Traefik, a client's own `X-Original-Method: GET`
 * and `X-Original-URI: /links/1` would otherwise be judged in place of the `POST /links` the
 * proxy then forwards — and is refused.
 */
function methodAndUri(headers: Headers): {
  method: string | null;
  uri: string | null;
  /** The URI's header, as the proxy names it, for an error's `param`. */
  uriHeader: string;
} {
  const nginx = NGINX_NAMES.some((name) => headers.has(name));
  const forwarded = FORWARDED_NAMES.some((name) => headers.has(name));
  if (nginx && forwarded)
    throw invalidRequest(
      "The original request is named twice: by X-Original-Method / X-Original-URI (nginx) and by X-Forwarded-Method / X-Forwarded-Uri (Traefik, Caddy). A proxy sets one pair; the other came from the client, so the request is refused.",
    );
  const [methodName, uriName] = nginx ? NGINX_NAMES : FORWARDED_NAMES;
  return {
    method: headers.get(methodName),
    uri: headers.get(uriName),
    uriHeader: nginx ? "X-Original-URI" : "X-Forwarded-Uri",
  };
}

/** The original request a proxy asks about; its path is judged exactly as it was sent. */
function originalRequest(
  headers: Headers,
  secretPrefix: string,
): { method: string; uri: string; path: string } {
  const { method, uri, uriHeader } = methodAndUri(headers);
  if (!method || !uri)
    throw invalidRequest(
      "Forward-auth needs the original request: X-Original-Method and X-Original-URI (or X-Forwarded-Method and X-Forwarded-Uri).",
    );
  if (!uri.startsWith("/"))
    throw invalidRequest(
      "The original URI must be the request's path, starting with / (as nginx's $request_uri is), not a full URL or a relative path.",
      uriHeader,
    );
  const query = uri.indexOf("?");
  const path = query === -1 ? uri : uri.slice(0, query);
  // A proxy forwards the URI as the client sent it (nginx's `proxy_pass` without a URI part
  // does): judged as Keygate reads it, it must be one the upstream cannot read otherwise.
  const ambiguous = ambiguousPathFault(path);
  if (ambiguous)
    throw invalidRequest(
      `The original URI's path ${ambiguous}; an upstream may route it differently from Keygate, so it is refused.`,
      uriHeader,
    );
  const refused =
    overrideRefusal(headers, uri.slice(path.length), method.toUpperCase()) ??
    secretInUrlRefusal(uri, secretPrefix, uriHeader);
  if (refused) throw refused;
  const spoofed = spoofedIdentityHeaderOf(headers);
  if (spoofed)
    throw invalidRequest(
      `${spoofed}: is an X-Keygate-* identity header spelled with underscores, which the proxy would pass on and an upstream may read as Keygate's; it is refused.`,
      spoofed,
    );
  return { method: method.toUpperCase(), uri, path };
}

/** JSON with every non-ASCII character escaped, so that it fits in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** With no gateway routes configured, any valid key passes for any request (default limits). */
const ANY_ROUTE = { path: "", requirement: requirementObject([]) };

/** Where proxies ask about a request (nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`). */
export const FORWARD_AUTH_PATH = "/v1/forward-auth";

/** The forward-auth route. */
export function forwardAuthRoutes(
  kg: Keygate,
  reportInternal: InternalErrorReporter = reportToStderr,
) {
  const routes = kg.config.gateway.routes.map((route: GatewayRoute) => ({
    method: route.method,
    path: route.path,
    requirement: requirementObject({
      all: route.scopes,
      ...(route.entity ? { entity: { selector: route.entity, routePath: route.path } } : {}),
    }),
  }));
  // The route the gateway would serve the request with, not the first whose pattern matches.
  const routeFor = routeFinder(routes);
  const steps = [entitySelectionStep(kg), ...rateLimitChecks(kg)];
  const { trustedProxies } = kg.config.gateway;
  return new Elysia({ name: "keygate/forward-auth", normalize: false }).get(
    FORWARD_AUTH_PATH,
    (context) => {
      const { request, server, set } = context;
      try {
        const original = originalRequest(request.headers, kg.config.keys.secretPrefix);
        const match = routes.length === 0 ? ANY_ROUTE : routeFor(original.method, original.path);
        if (!match)
          throw new KeygateError(
            "resource_missing",
            `No gateway route for ${original.method} ${original.path}.`,
          );
        const address = clientAddress(request, server, trustedProxies);
        const identity = authenticate(kg, request.headers, match.requirement, () => address);
        (context as { identity?: unknown }).identity = identity;
        if (identity.type !== "api_key") throw new Error("unreachable: JWTs are refused here");
        const step = {
          request,
          method: original.method,
          path: original.path,
          route: match.path,
          originalUri: original.uri,
          set,
          requirement: match.requirement,
        };
        for (const run of steps) run(identity, step);
        Object.assign(set.headers, identityHeadersOf(request, identity));
        return "";
      } catch (error) {
        const envelope = answerFailure("UNKNOWN", error, set, kg.config.errorCodes, reportInternal);
        set.headers["x-keygate-error"] = asciiJson(envelope);
        return envelope;
      }
    },
    {
      detail: documented({
        summary:
          "For nginx auth_request, Traefik or Caddy: 200 with the X-Keygate-* identity headers when the request in X-Original-* may pass",
        id: "forwardAuth",
        tag: "Gateway",
        returns: "empty",
        successHeaders: IDENTITY_HEADERS,
        errorHeaders: ["X-Keygate-Error"],
      }),
    },
  );
}

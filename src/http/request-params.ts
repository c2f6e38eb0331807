/**
 * Request parameters that cannot be read one way only, refused with 400 `invalid_request`
 * naming the parameter, before any of Keygate's own routes runs:
 *
 * - a path parameter whose percent-encoding is broken (`/v1/api-keys/%ZZ`): Elysia hands the
 *   route `null` for it, which a route would look up and answer "No such API key: null.";
 * - a query parameter given more than once (`?limit=1&limit=2`): Elysia keeps one of them
 *   silently, and no Keygate parameter takes a list.
 *
 * Not on a gateway route: its path and query are its upstream's, forwarded as sent (the one
 * parameter Keygate reads there, the entity selector, is checked in entity-selection.ts); nor
 * on forward-auth, which judges `X-Original-URI`, not its own URL.
 */
import { Elysia } from "elysia";
import { badPercentEncoding, invalidRequest } from "../errors/keygate-error.ts";
import { FORWARD_AUTH_PATH } from "../gateway/forward-auth.ts";
import type { GatewayRouteTest } from "../gateway/index.ts";

/** The first query parameter named twice in `url`, if any. */
export function repeatedQueryParameter(url: string): string | undefined {
  const start = url.indexOf("?");
  if (start === -1) return undefined;
  const seen = new Set<string>();
  for (const name of new URLSearchParams(url.slice(start + 1)).keys()) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/**
 * The request-parameters plugin; mount it before the routes. `isGatewayRoute`: which requests
 * are the gateway's, left alone.
 */
export function requestParams(isGatewayRoute: GatewayRouteTest = () => false) {
  return new Elysia({ name: "keygate/request-params" }).onTransform(
    { as: "global" },
    ({ params, request, route }) => {
      if (route === FORWARD_AUTH_PATH || isGatewayRoute(request.method, route)) return;
      for (const name in params)
        if ((params as Record<string, unknown>)[name] === null) throw badPercentEncoding(name);
      const repeated = repeatedQueryParameter(request.url);
      if (repeated !== undefined)
        throw invalidRequest(`${repeated} is given more than once: send it once.`, repeated);
    },
  );
}

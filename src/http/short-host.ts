/**
 * A Host too short for the router. Elysia finds a request's path by looking for the first `/`
 * from the twelfth character of its URL on: it takes `http://` and a host of four characters or
 * more for granted (`handler.standardHostname`, on by default). Behind a shorter Host
 * (`Host: ab`, `Host: api`) it reads a later part of the path as the whole: `GET
 * /admin/secrets` is routed as `/secrets` — matched by a weaker gateway route, `GET /:name`,
 * while the upstream is sent `/admin/secrets`: a route's scopes bypassed with one header. Such
 * a request is refused before it is routed, in Keygate's server and in an app with the plugin.
 */
import { invalidRequest, type KeygateError } from "../errors/keygate-error.ts";

/** Where the router starts looking for a URL's path (Elysia's `standardHostname`). */
const ROUTER_PATH_SEARCH_FROM = 11;

/**
 * A 400 for a request whose URL the router would read a path from that is not its own: its
 * path starts before the twelfth character (`http://ab/…`). Undefined for every other URL.
 */
export function shortHostRefusal(url: string): KeygateError | undefined {
  const authority = url.indexOf("//") + 2;
  const pathStart = url.indexOf("/", authority);
  if (pathStart >= ROUTER_PATH_SEARCH_FROM) return undefined;
  const host = pathStart === -1 ? url.slice(authority) : url.slice(authority, pathStart);
  return invalidRequest(
    `The Host "${host}" is too short for the server to read the request's path: send a host of at least 4 characters (a port other than the scheme's default counts: "${host}:3000").`,
    "Host",
  );
}

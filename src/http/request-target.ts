/**
 * A request whose URL the router would read another path from than the URL's own.
 *
 * - **A short Host.** Elysia finds a request's path by looking for the first `/` from the
 *   twelfth character of its URL on: it takes `http://` and a host of four characters or more
 *   for granted (`handler.standardHostname`, on by default). Behind a shorter Host (`Host: ab`)
 *   it reads a later part of the path as the whole: `GET /admin/secrets` was routed as
 *   `/secrets` — matched by a weaker gateway route, `GET /:name`, while the upstream was sent
 *   `/admin/secrets`. Keygate's own server, when it serves plain HTTP, turns the assumption off
 *   ({@link routerHandlerOptions}): the search starts right after `http://`, right for any
 *   host. Over TLS, and in an app of one's own, a host too short for it is refused.
 * - **No valid Host.** Behind a Host holding `/`, `?`, `#`, `@` or a space, Bun's `request.url`
 *   is the bare path, which the router misreads the same way (`/abcdefghijklmnop/x` as `/x`);
 *   one holding `%` made the gateway's URL parser throw (a 500). Refused.
 * - **A fragment.** The router stops the path at `?` but not at `#`, and Bun keeps a fragment a
 *   client sent (`/admin/secrets#x`): the router matched `/:a/:b` while the gateway sent the
 *   URL's path, `/admin/secrets`, upstream. Refused.
 *
 * The check runs before routing, in Keygate's server and in an app with the plugin.
 */
import { invalidRequest, type KeygateError } from "../errors/keygate-error.ts";

/**
 * Whether the runtime builds `request.url` from any Host as sent (Deno: `Host: a/b/..` makes
 * `http://a/b/../x`, which the router reads as `/b/../x` and a URL parser as `/x`). Bun turns
 * a Host it cannot use into a URL without one, which the checks below refuse already.
 */
const URL_HOLDS_HOST_AS_SENT = "Deno" in globalThis;

/** Where the router starts looking for a URL's path: `standardHostname` on, and off. */
const STANDARD_HOSTNAME_SEARCH_FROM = 11;
const AFTER_HTTP_SEARCH_FROM = 7;

/**
 * Elysia's handler options for an app that serves plain HTTP (`tls` false) or HTTPS, and where
 * its router then looks for a URL's path, for {@link requestTargetRefusal}.
 */
export function routerHandlerOptions(tls: boolean): {
  handler: { standardHostname: boolean };
  searchFrom: number;
} {
  return {
    handler: { standardHostname: tls },
    searchFrom: tls ? STANDARD_HOSTNAME_SEARCH_FROM : AFTER_HTTP_SEARCH_FROM,
  };
}

/** The characters of a host as Keygate takes one: a name or an IPv4 or `[IPv6]` address, and a port. */
const HOST_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~:[]";
const IN_HOST = new Uint8Array(128);
for (const character of HOST_CHARACTERS) IN_HOST[character.charCodeAt(0)] = 1;

/** Whether `text[from, to)` is a non-empty host, read in place (no string is made per request). */
function isHost(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (IN_HOST[text.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Where the URL holds the Host as sent: whether that Host is not one (it may hold a `/`). */
function hostHeaderFault(request: Request): boolean {
  if (!URL_HOLDS_HOST_AS_SENT) return false;
  const host = request.headers.get("host");
  return host !== null && host !== "" && !isHost(host, 0, host.length);
}

/**
 * A 400 for a request the router would read a path from that is not its own, or whose host no
 * URL parser takes: no valid Host, a path that starts before the router looks for it
 * (`searchFrom`: with `standardHostname` on, `http://ab/…`), or a fragment. Undefined for every
 * other request; the Host header itself is read only to word a refusal.
 */
export function requestTargetRefusal(
  request: Request,
  searchFrom: number = STANDARD_HOSTNAME_SEARCH_FROM,
): KeygateError | undefined {
  const url = request.url;
  const schemeEnd = url.indexOf("://");
  const authority = schemeEnd + 3;
  // The search must start past the scheme's "//", and find the path's own first "/".
  const routable = (schemeEnd === 4 || schemeEnd === 5) && searchFrom >= authority;
  if (routable) {
    const pathStart = url.indexOf("/", authority);
    if (pathStart >= searchFrom && isHost(url, authority, pathStart) && !hostHeaderFault(request)) {
      if (url.indexOf("#", pathStart) === -1) return undefined;
      return invalidRequest(
        "The request's target holds a fragment (#…), which HTTP clients never send: the router would read it as part of the path, an upstream would not.",
      );
    }
  }
  const host = request.headers.get("host");
  if (!host || !isHost(host, 0, host.length))
    return invalidRequest(
      "The request has no valid Host header, so the server cannot read its path: send the server's host name or address (HTTP/1.1 requires it).",
      "Host",
    );
  // A valid Host, yet no http(s) URL the router can read: the target was not a path (CONNECT's
  // host:port, say).
  if (!routable)
    return invalidRequest("The request's target is not a path: send one that starts with /.");
  return invalidRequest(
    `The Host "${host}" is too short for the server to read the request's path: send a host name or address of at least 4 characters, or a port other than the scheme's default.`,
    "Host",
  );
}

/**
 * Path patterns: how gateway routes, rate-limit policies and `idempotency.required` name the
 * paths they cover, read exactly as the router that serves the requests (Elysia's) reads them:
 *
 * - a literal segment matches itself;
 * - `:name`, a whole segment, matches any one non-empty segment;
 * - a `*` at the very end matches whatever follows, nothing included: `/files/*` covers every
 *   path under `/files/` (not `/files` itself), `/v1/api-keys*` covers `/v1/api-keys` and every
 *   path that starts with it;
 * - a trailing slash on the request is ignored (`/v1/me/` is `/v1/me`).
 *
 * Anything the router would read another way — a `*` before the end (it takes it as a literal
 * star), a `:` inside a segment (it starts a parameter there) — is refused by
 * {@link pathPatternFault}, so that a pattern never covers one set of paths for the router and
 * another for the rules matched against it.
 */

import { routeServes } from "./route-method.ts";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What is wrong with `pattern`, in words for a configuration error; undefined if nothing. */
export function pathPatternFault(pattern: string): string | undefined {
  if (!pattern.startsWith("/")) return "must start with /";
  if (pattern.includes("?"))
    return "a pattern matches the path, never its query: leave out the ? and what follows";
  const star = pattern.indexOf("*");
  if (star !== -1 && star !== pattern.length - 1)
    return "a * stands for the rest of the path, so it comes last (/files/*)";
  for (const segment of pattern.split("/")) {
    const colon = segment.lastIndexOf(":");
    if (colon > 0)
      return `a :parameter is a whole segment (/orders/:id): "${segment}" has a : inside it`;
    if (segment === ":" || segment === ":*") return "a :parameter needs a name (/orders/:id)";
    if (segment.startsWith(":") && segment.endsWith("*"))
      return "a * cannot end a :parameter; put it in a segment of its own (/orders/:id/*)";
  }
  return undefined;
}

/**
 * The regular expression of a pattern (one {@link pathPatternFault} passes), tested against a
 * request's path without its query.
 */
export function compilePathPattern(pattern: string): RegExp {
  const wildcard = pattern.endsWith("*");
  const body = (wildcard ? pattern.slice(0, -1) : pattern)
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : escapeRegExp(segment)))
    .join("/");
  return new RegExp(wildcard ? `^${body}.*$` : `^${body}/?$`);
}

/** A rule naming requests by method and path pattern: a route rate-limit policy, a required key. */
export interface RouteRule {
  method: string;
  /** A path pattern: `/checkout`, `/checkout/:id`, `/checkout/*`. */
  path: string;
  /**
   * A gateway route's own rule: it covers the requests that route serves, not every path its
   * pattern covers. Any other rule covers its pattern's paths, whichever route serves them.
   */
  routeOwned?: boolean;
}

/**
 * The test of whether `rule` covers a request of `method` to `path` (no query), served by the
 * route of pattern `route` ("" for none). `methodCovers(ruleMethod, method)`: by default a GET
 * rule covers HEAD too, as the GET route serves it (route-method.ts).
 */
export function ruleCovers(
  rule: RouteRule,
  methodCovers: (ruleMethod: string, method: string) => boolean = routeServes,
): (method: string, path: string, route: string) => boolean {
  const ruleMethod = rule.method.toUpperCase();
  if (rule.routeOwned)
    return (method, _path, route) => route === rule.path && methodCovers(ruleMethod, method);
  const pattern = compilePathPattern(rule.path);
  return (method, path) => methodCovers(ruleMethod, method) && pattern.test(path);
}

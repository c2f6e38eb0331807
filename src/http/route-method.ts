/**
 * Which requests a route's method covers. The server answers a HEAD with the GET route of the
 * same path (the same work, less the body), so whatever holds for that GET — its rate limits,
 * its gateway or forward-auth route — holds for the HEAD too; otherwise a HEAD would slip past
 * a `GET /checkout` policy.
 */

/** Whether a route declared for `routeMethod` serves a request made with `method`. */
export function routeServes(routeMethod: string, method: string): boolean {
  return routeMethod === method || (method === "HEAD" && routeMethod === "GET");
}

/**
 * Whether a route (or rule) declared for `a` and one declared for `b` can meet on a request:
 * some method both serve — the same one, or GET and HEAD (the GET serves HEAD).
 */
export function methodsMeet(a: string, b: string): boolean {
  return routeServes(a, b) || routeServes(b, a);
}

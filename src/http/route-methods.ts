/**
 * Which methods an app answers at a path, read from its route table: a request for a known
 * path with another method is told them, in its 404's message and an `Allow` header (which
 * RFC 9110 §10.2.1 lets any response carry).
 */

/** The methods routes answer at `path` (HEAD wherever GET is), in route order; none: []. */
export type RouteMethods = (path: string) => string[];

/** A route as Elysia's `app.routes` lists it. */
interface RouteEntry {
  method: string;
  path: string;
}

/**
 * {@link RouteMethods} over `routes`, whose paths are Elysia patterns: a `:name` segment
 * matches any one non-empty segment, a `*` segment the rest of the path.
 */
export function routeMethodsOf(routes: readonly RouteEntry[]): RouteMethods {
  const table = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: r.path.split("/") }));
  return (path) => {
    const segments = path.split("/");
    const methods = new Set<string>();
    for (const { method, pattern } of table) {
      if (!matches(pattern, segments)) continue;
      methods.add(method);
      if (method === "GET") methods.add("HEAD");
    }
    return [...methods];
  };
}

function matches(pattern: readonly string[], segments: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string;
    if (expected === "*") return true;
    const actual = segments[i];
    if (actual === undefined) return false;
    if (expected.startsWith(":") ? actual === "" : actual !== expected) return false;
  }
  return pattern.length === segments.length;
}

/**
 * A {@link RouteMethods} for a plugin mounted before the routes it answers for: it knows no
 * route until `learn` is given the app's table (once every route is mounted, or at start).
 */
export function routeTableLearnedLater(): {
  methodsAt: RouteMethods;
  learn(routes: readonly RouteEntry[]): void;
} {
  let methodsAt: RouteMethods = () => [];
  return {
    methodsAt: (path) => methodsAt(path),
    learn(routes) {
      methodsAt = routeMethodsOf(routes);
    },
  };
}

/**
 * Which methods an app answers at a path, read from its route table: a request for a known
 * path with another method is told them, in its 404's message and an `Allow` header (which
 * RFC 9110 §10.2.1 lets any response carry).
 */
import { compilePathPattern } from "./path-pattern.ts";

/** The methods routes answer at `path` (HEAD wherever GET is), in route order; none: []. */
export type RouteMethods = (path: string) => string[];

/** A route as Elysia's `app.routes` lists it. */
interface RouteEntry {
  method: string;
  path: string;
}

/** {@link RouteMethods} over `routes`, whose paths are patterns (path-pattern.ts). */
export function routeMethodsOf(routes: readonly RouteEntry[]): RouteMethods {
  const table = routes.map((r) => ({
    method: r.method.toUpperCase(),
    pattern: compilePathPattern(r.path),
  }));
  return (path) => {
    const methods = new Set<string>();
    for (const { method, pattern } of table) {
      if (!pattern.test(path)) continue;
      methods.add(method);
      if (method === "GET") methods.add("HEAD");
    }
    return [...methods];
  };
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

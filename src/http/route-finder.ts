/**
 * Which of several routes serves a request, chosen exactly as the server's router chooses: a
 * route without parameters or `*` first (its path, or its path with a trailing slash added or
 * removed); then, through the same radix tree Elysia routes with (memoirist), segment by
 * segment a literal before a `:param` before a `*`. Forward-auth must pick the route the
 * gateway would serve — its scopes, entity selection, limits and Idempotency-Key rule — or a
 * request the gateway refuses could pass through the proxy: with `GET /a/:id` listed before
 * `GET /a/b`, the first pattern that matched (`/a/:id`) used to win there, while the gateway
 * served `/a/b` with its own scopes.
 *
 * The app must route with Elysia's router too (`systemRouter: false`, src/http/app.ts): Bun's
 * own router, which Elysia otherwise hands its routes without `*`, ranks a `:param` route above
 * a `*` route whatever their literal segments (`/a/:x/c` over `/a/b/*` for `/a/b/c`).
 */
import { Memoirist } from "memoirist";

/** A route as configured: its method (upper case) and its path pattern (path-pattern.ts). */
export interface RouteEntry {
  method: string;
  path: string;
}

/** Finds the route serving a request's method and path (no query); undefined: none. */
export type RouteFinder<R extends RouteEntry> = (method: string, path: string) => R | undefined;

/** The path with a trailing slash added, or removed: the router serves both alike. */
const loosePath = (path: string) => (path.endsWith("/") ? path.slice(0, -1) : `${path}/`);

const isLiteral = (path: string) => !path.includes(":") && !path.includes("*");

/**
 * Why `routes` cannot share one router, naming the route at fault by its index: a method and
 * path given twice (a trailing slash aside); a `:param` where an earlier route of the method
 * has one of another name (the router tells parameters apart by place, not by name: Elysia
 * refuses to start); or a `HEAD` pattern that `GET` routes keep from ever serving (the router
 * answers a `HEAD` with a `GET` route that matches first), whose rules would never apply.
 */
export function routeSetFault(
  routes: readonly RouteEntry[],
  nameOf: (index: number) => string = (index) => `route ${index}`,
): { index: number; message: string } | undefined {
  const seen = new Map<string, number>();
  const tree = new Memoirist<number>();
  for (const [index, { method, path }] of routes.entries()) {
    // `/a/` is `/a` to the router: the same route twice.
    const key = `${method} ${path.endsWith("/") ? path.slice(0, -1) : path}`;
    const earlier = seen.get(key);
    if (earlier !== undefined)
      return { index, message: `${method} ${path} is also ${nameOf(earlier)}: list it once` };
    seen.set(key, index);
    if (isLiteral(path)) continue;
    try {
      tree.add(method, path, index);
    } catch (error) {
      const names = (error as Error).message.match(/parameter "([^"]+)".*\("([^"]+)"\)/);
      return {
        index,
        message: names
          ? `${path}: :${names[1]} stands where another ${method} route has :${names[2]}; the router tells parameters apart by place, not name: name it :${names[2]}`
          : `${path}: ${(error as Error).message}`,
      };
    }
  }
  const find = routeFinder(routes);
  for (const [index, route] of routes.entries()) {
    if (route.method !== "HEAD" || isLiteral(route.path)) continue;
    const probes = probesOf(route.path, Math.max(...routes.map((r) => r.path.split("/").length)));
    if (probes.some((probe) => find("HEAD", probe) === route)) continue;
    const get = probes.map((probe) => find("GET", probe)).find((r) => r !== undefined);
    return {
      index,
      message: get
        ? `HEAD ${route.path} would never serve a request: the router answers a HEAD with a GET route that matches first (GET ${get.path}, ${nameOf(routes.indexOf(get))}), and with that route's rules; drop this one or narrow the GET route`
        : `HEAD ${route.path} would never serve a request: routes the router ranks first cover every path it does`,
    };
  }
  return undefined;
}

/** A segment no configured path holds (their characters are `[A-Za-z0-9._~:/*-]`). */
const FRESH = "!";

/**
 * Paths `pattern` covers that favour it the most: each `:param` a segment no route names, and a
 * final `*` every form of rest up to `depth` segments, each with and without a trailing slash.
 * A route of another method covers one of them only by a `:param` or `*` of its own, so it
 * covers every path of the same form: if the route serves none of them, it serves no path.
 */
function probesOf(pattern: string, depth: number): string[] {
  const fixed = pattern
    .split("/")
    .map((segment) => (segment.startsWith(":") ? FRESH : segment))
    .join("/");
  if (!fixed.endsWith("*")) return [fixed, loosePath(fixed)];
  const base = fixed.slice(0, -1);
  const rests = [""];
  for (let k = 1; k <= depth; k++)
    rests.push(`${FRESH}${`/${FRESH}`.repeat(k - 1)}`, `/${FRESH}`.repeat(k));
  return rests.flatMap((rest) => [`${base}${rest}`, `${base}${rest}/`]);
}

/**
 * The {@link RouteFinder} over `routes` (a set {@link routeSetFault} passes). A `GET` route
 * serves `HEAD` too, ranked as the router ranks it: a literal `HEAD` route, then a literal
 * `GET` one, then a `GET` pattern, and a `HEAD` pattern only where no `GET` route matches —
 * Elysia tries a request's `GET` route before looking at a `HEAD` pattern of its own.
 */
export function routeFinder<R extends RouteEntry>(routes: readonly R[]): RouteFinder<R> {
  const literal = new Map<string, R>();
  // Built as Elysia builds its own: every route and its loose form queued, then added at once
  // (so that a loose form is not lost to a wildcard route's entry of the same path).
  const tree = new Memoirist<R>({ lazy: true });
  for (const route of routes) {
    if (isLiteral(route.path)) {
      for (const path of [route.path, loosePath(route.path)])
        if (!literal.has(`${route.method} ${path}`)) literal.set(`${route.method} ${path}`, route);
      continue;
    }
    tree.add(route.method, route.path, route);
    tree.add(route.method, loosePath(route.path), route);
  }
  tree.build();
  const find = (method: string, path: string) =>
    literal.get(`${method} ${path}`) ?? tree.find(method, path)?.store;
  return (method, path) => {
    if (method !== "HEAD") return find(method, path);
    return (
      literal.get(`HEAD ${path}`) ??
      literal.get(`GET ${path}`) ??
      tree.find("GET", path)?.store ??
      tree.find("HEAD", path)?.store
    );
  };
}

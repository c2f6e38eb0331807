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
 * another for the rules matched against it. So is a pattern no request could match (an empty
 * or a dot segment, a parameter named twice) and OpenAPI's `{id}`.
 */

import { routeServes } from "./route-method.ts";

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What is wrong with `pattern`, in words for a configuration error; undefined if nothing. */
export function pathPatternFault(pattern: string): string | undefined {
  if (!pattern.startsWith("/")) return "must start with /";
  if (pattern.includes("?"))
    return "a pattern matches the path, never its query: leave out the ? and what follows";
  if (/[{}]/.test(pattern))
    return "write a parameter as :name (/orders/:id): {name} is OpenAPI's form, which the router reads as text";
  const star = pattern.indexOf("*");
  if (star !== -1 && star !== pattern.length - 1)
    return "a * stands for the rest of the path, so it comes last (/files/*)";
  const segments = pattern.split("/").slice(1);
  // A request with an empty or a dot segment is refused by the gateway or resolved by the
  // server before routing (gateway/ambiguous-request.ts): a pattern holding one matches none.
  if (segments.slice(0, -1).includes(""))
    return "has an empty segment (//), and a request with one is refused, so no request could match it";
  if (segments.some((segment) => segment === "." || segment === ".."))
    return "has a . or .. segment, which a request's path never keeps, so no request could match it";
  const names = segments.filter((segment) => segment.startsWith(":"));
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) return `names the parameter ${twice} twice; give each its own name`;
  for (const segment of segments) {
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

/** One step of a pattern's automaton (see {@link patternsOverlap}). */
type Step =
  | { kind: "char"; char: string }
  | { kind: "segment-char" } // one character other than "/"
  | { kind: "segment-rest" } // any characters other than "/", none included
  | { kind: "anything" } // any characters, none included
  | { kind: "optional-slash" };

/** The steps of a pattern: a `:param` is one segment character and then the rest. */
function stepsOf(pattern: string): Step[] {
  const wildcard = pattern.endsWith("*");
  const body = wildcard ? pattern.slice(0, -1) : pattern;
  const steps = body
    .split("/")
    .flatMap((segment, i): Step[] => [
      ...(i === 0 ? [] : [{ kind: "char", char: "/" } as const]),
      ...(segment.startsWith(":")
        ? [{ kind: "segment-char" } as const, { kind: "segment-rest" } as const]
        : [...segment].map((char) => ({ kind: "char", char }) as const)),
    ]);
  steps.push(wildcard ? { kind: "anything" } : { kind: "optional-slash" });
  return steps;
}

/** The states reachable from `states` without reading a character. */
function closure(steps: readonly Step[], states: Iterable<number>): Set<number> {
  const reached = new Set(states);
  for (const state of reached) {
    const kind = steps[state]?.kind;
    if (kind === "segment-rest" || kind === "anything" || kind === "optional-slash")
      reached.add(state + 1);
  }
  return reached;
}

/** The states after reading `char` from `states`. */
function advance(steps: readonly Step[], states: Iterable<number>, char: string): Set<number> {
  const next: number[] = [];
  for (const state of states) {
    const step = steps[state];
    if (step === undefined) continue;
    if (step.kind === "char" && step.char === char) next.push(state + 1);
    if (step.kind === "segment-char" && char !== "/") next.push(state + 1);
    if (step.kind === "segment-rest" && char !== "/") next.push(state);
    if (step.kind === "anything") next.push(state);
    if (step.kind === "optional-slash" && char === "/") next.push(state + 1);
  }
  return closure(steps, next);
}

/**
 * Whether some path matches both patterns (each one {@link pathPatternFault} passes): the two
 * patterns' automata walked together over every character either names, "/", and one that
 * neither names — which stands for all the others, as no step tells them apart.
 */
export function patternsOverlap(a: string, b: string): boolean {
  const stepsA = stepsOf(a);
  const stepsB = stepsOf(b);
  const alphabet = new Set([...a, ...b, "/", "\u0000"]);
  const key = (x: Set<number>, y: Set<number>) => `${[...x].sort()}|${[...y].sort()}`;
  const start: [Set<number>, Set<number>] = [closure(stepsA, [0]), closure(stepsB, [0])];
  const seen = new Set([key(...start)]);
  const queue = [start];
  for (const [x, y] of queue) {
    if (x.has(stepsA.length) && y.has(stepsB.length)) return true;
    for (const char of alphabet) {
      const next: [Set<number>, Set<number>] = [advance(stepsA, x, char), advance(stepsB, y, char)];
      if (next[0].size === 0 || next[1].size === 0 || seen.has(key(...next))) continue;
      seen.add(key(...next));
      queue.push(next);
    }
  }
  return false;
}

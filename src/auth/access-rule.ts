/**
 * Deny by default, in an app of one's own that mounts Keygate (src/plugin.ts): every route
 * after the plugin declares who may call it — `scopes` (a valid key holding them; `[]`: any
 * valid key) or `public: true` (anyone) — or Keygate refuses to serve it. Without this, a route
 * whose `scopes` were forgotten would answer anyone: in a payments API, a refund endpoint open
 * to the internet, found by whoever tries it first.
 *
 * The rule holds twice: when the app starts, listing every route that declares nothing (the
 * start fails), and on each request to such a route (`500`, reported with the route's name),
 * for an app that serves `app.fetch` without starting.
 */
import { Elysia } from "elysia";

/** The hooks that declare a route's access rule: the `scopes` and `public` macros' own. */
const DECLARING_HOOKS = new WeakSet<object>();

/** Marks `hook` as one that declares its route's access rule, and returns it. */
export function declaringAccess<H extends object>(hook: H): H {
  DECLARING_HOOKS.add(hook);
  return hook;
}

/** What the request-time check reads of the context. */
interface AccessContext {
  /** Set by the `scopes` macro once the caller is authenticated. */
  identity?: unknown;
  /** Set by the `public` macro. */
  keygatePublic?: boolean;
  request: Request;
  route: string;
}

/** The message naming routes that declare no access rule. */
function undeclaredMessage(routes: readonly string[]): string {
  return `${routes.join(", ")} ${routes.length === 1 ? "declares" : "declare"} neither \`scopes\` nor \`public: true\`: Keygate serves no route without an access rule. A plugin's routes that can take neither go before .use(keygate(kg)).`;
}

/**
 * The request-time check, as a global `beforeHandle`: it runs after every route's transform,
 * where the `scopes` macro has authenticated the caller (or refused it) and the `public` macro
 * has marked the request.
 */
function refuseUndeclared({ identity, keygatePublic, request, route }: AccessContext): void {
  if (identity === undefined && keygatePublic !== true)
    throw new Error(undeclaredMessage([`${request.method} ${route}`]));
}

/** A route as Elysia lists it in `app.routes`. */
interface ListedRoute {
  method: string;
  path: string;
  hooks?: {
    transform?: readonly { fn: object }[] | { fn: object };
    beforeHandle?: readonly { fn: object }[] | { fn: object };
  };
}

const fnsOf = (hook: readonly { fn: object }[] | { fn: object } | undefined) =>
  hook === undefined ? [] : Array.isArray(hook) ? hook : [hook as { fn: object }];

/**
 * The routes, among those the rule governs (registered after the plugin), that declare no
 * access rule: `METHOD path` each.
 */
function undeclaredRoutes(routes: readonly ListedRoute[]): string[] {
  return routes
    .filter((route) => fnsOf(route.hooks?.beforeHandle).some((h) => h.fn === refuseUndeclared))
    .filter((route) => !fnsOf(route.hooks?.transform).some((h) => DECLARING_HOOKS.has(h.fn)))
    .map((route) => `${route.method} ${route.path}`);
}

/** Throws, naming them, when routes the rule governs declare no access rule. */
export function requireAccessRules(routes: readonly ListedRoute[]): void {
  const undeclared = undeclaredRoutes(routes);
  if (undeclared.length > 0) throw new Error(undeclaredMessage(undeclared));
}

/** The `public` macro's transform: the request's route is open to anyone. */
const markPublic = declaringAccess(function markPublic(context: object) {
  (context as { keygatePublic?: boolean }).keygatePublic = true;
});

/**
 * The `public: true` route option and the request-time check, for the plugin. `public: false`
 * declares nothing: such a route still needs its `scopes`.
 */
export function accessRules() {
  return new Elysia({ name: "keygate/access-rules" })
    .macro({
      public: (open: boolean) => (open === true ? { transform: markPublic } : undefined),
    })
    .onBeforeHandle({ as: "global" }, refuseUndeclared);
}

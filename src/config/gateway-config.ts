/**
 * The `gateway` section of the config file (SPEC §7): the upstream, and the routes Keygate
 * authenticates, rate-limits and makes idempotent before proxying them — or, through
 * `GET /v1/forward-auth`, before a proxy in front (nginx, Traefik, Caddy) forwards them.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Scope } from "../../events/api-key.ts";
import { routeSetFault } from "../http/route-finder.ts";
import { type AddressList, addressList, addressListFault } from "./address-list.ts";
import { HttpMethodSchema } from "./http-method.ts";

/** Where a route's target entity is named in the request (Modulus's branch reference). */
export const EntitySelectorSchema = Type.Object(
  {
    /** A JSON body field, a header, a query parameter or a path parameter of the route. */
    from: Type.Union([
      Type.Literal("body"),
      Type.Literal("header"),
      Type.Literal("query"),
      Type.Literal("path"),
    ]),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    /** The value is an entity id (default) or an entity `reference`. */
    match: Type.Optional(Type.Union([Type.Literal("id"), Type.Literal("reference")])),
    /** The kinds of entity the value may name (default: any). */
    kinds: Type.Optional(
      Type.Array(
        Type.Union([Type.Literal("partner"), Type.Literal("merchant"), Type.Literal("branch")]),
        { minItems: 1 },
      ),
    ),
  },
  { additionalProperties: false },
);

const GatewayRouteSchema = Type.Object(
  {
    method: HttpMethodSchema,
    /** `/checkout`, `/checkout/:id`, `/files/*`; its characters are checked in config.ts. */
    path: Type.String({ pattern: "^/" }),
    /** What a key must hold: scopes as keys hold them (`links:read`, `links:*`, `*`). */
    scopes: Type.Optional(Type.Array(Scope)),
    rate_limit: Type.Optional(
      Type.Object(
        {
          limit: Type.Integer({ minimum: 1 }),
          window_seconds: Type.Integer({ minimum: 1, maximum: 86400 }),
          algorithm: Type.Optional(Type.Union([Type.Literal("fixed"), Type.Literal("sliding")])),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^"\\\\]+$' })),
        },
        { additionalProperties: false },
      ),
    ),
    idempotency: Type.Optional(Type.Union([Type.Literal("required"), Type.Literal("optional")])),
    entity: Type.Optional(EntitySelectorSchema),
  },
  { additionalProperties: false },
);

/** The `gateway` section as written. */
export const GatewaySectionSchema = Type.Object(
  {
    /** The upstream's base URL (`KEYGATE_UPSTREAM` wins). */
    upstream: Type.Optional(Type.String({ pattern: "^https?://" })),
    /**
     * How long to wait for the upstream's head (and for a recorded body). At most 300: Bun's
     * fetch drops a connection silent for 5 minutes itself, which would answer a longer wait
     * as a broken connection (502) rather than a timeout (504).
     */
    timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 300 })),
    max_body_bytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 ** 3 })),
    /** Send the client's address upstream in `X-Forwarded-For` (off by default, as in nginx). */
    forwarded_for: Type.Optional(Type.Boolean()),
    /** Peers whose `X-Forwarded-For` / `X-Real-IP` is believed (forward-auth). */
    trusted_proxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    routes: Type.Optional(Type.Array(GatewayRouteSchema)),
  },
  { additionalProperties: false },
);

/** An entity selector, resolved. */
export type EntitySelector = Static<typeof EntitySelectorSchema> & { match: "id" | "reference" };

/** A gateway route, resolved. */
export interface GatewayRoute {
  /** Upper case. */
  method: string;
  path: string;
  scopes: string[];
  entity: EntitySelector | undefined;
}

/** The gateway, resolved. */
export interface GatewayConfig {
  /** The upstream's base URL without a trailing slash, or undefined: no proxying. */
  upstream: string | undefined;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Whether the upstream gets `X-Forwarded-For` (reading the peer address costs ~25 % of throughput). */
  forwardedFor: boolean;
  /** Peers whose `X-Real-IP` / `X-Forwarded-For` (and `X-Forwarded-Proto`) are believed. */
  trustedProxies: AddressList;
  routes: GatewayRoute[];
}

/** Paths Keygate serves itself; a gateway route may not shadow them. */
const RESERVED = [
  "/v1/me",
  "/v1/api-keys",
  "/v1/entities",
  "/v1/users",
  "/v1/auth",
  "/v1/events",
  "/v1/keys",
  "/v1/forward-auth",
  "/v1/audit",
  "/healthz",
  "/readyz",
  "/metrics",
  "/openapi.json",
  "/docs",
];

/** The path a route collides with, if it is one of Keygate's own. */
export function reservedPathOf(path: string): string | undefined {
  return RESERVED.find((r) => path === r || path.startsWith(`${r}/`));
}

/** A header name as HTTP allows it (RFC 9110's token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The loopback addresses (an IPv4-mapped `::ffff:127.0.0.1` is `127.0.0.1`). */
export const LOOPBACK = ["127.0.0.1", "::1"];

/**
 * What is wrong with an upstream base URL, if anything. Each request's path and query are
 * appended to it, so it has none of its own: `http://api:4000/base?v=1` would send
 * `/base?v=1/v1/payments`, and after a `#` the path would be dropped. It holds no credentials:
 * Keygate sends the upstream none of its own, and prints the URL (`config check`).
 */
function upstreamFault(base: string): string | undefined {
  // A value that does not parse is quoted, unless it may hold a password.
  if (!URL.canParse(base)) return base.includes("@") ? "is not a URL" : `"${base}" is not a URL`;
  const url = new URL(base);
  if (!/^https?:$/.test(url.protocol)) return "must be an http:// or https:// URL";
  if (url.username || url.password)
    return "holds a user name or password: Keygate sends the upstream no credentials of its own, and would print them with the URL; give it without them";
  if (base.includes("?") || base.includes("#"))
    return `"${base}" has a query or a fragment: each request's path and query are appended to the upstream's, so give a base URL without them`;
  return undefined;
}

/** Resolves the section; `upstream` is `KEYGATE_UPSTREAM` if set. */
export function resolveGateway(
  section: Static<typeof GatewaySectionSchema> | undefined,
  upstream: string | undefined,
  fail: (field: string, message: string) => never,
): GatewayConfig {
  const base = upstream || section?.upstream;
  const baseFault = base === undefined ? undefined : upstreamFault(base);
  if (baseFault) fail("upstream", baseFault);
  const routes = (section?.routes ?? []).map((route, i): GatewayRoute => {
    const clash = reservedPathOf(route.path);
    if (clash) fail(`gateway.routes[${i}].path`, `${route.path} is Keygate's own ${clash}`);
    if (route.entity?.from === "path" && !route.path.split("/").includes(`:${route.entity.name}`))
      fail(`gateway.routes[${i}].entity.name`, `${route.path} has no :${route.entity.name}`);
    // A name no client can send would leave every key above the branch level refused (400).
    if (route.entity?.from === "header" && !HEADER_NAME.test(route.entity.name))
      fail(
        `gateway.routes[${i}].entity.name`,
        `"${route.entity.name}" is not a header name (letters, digits and -, as in X-Merchant-Id)`,
      );
    return {
      method: route.method.toUpperCase(),
      path: route.path,
      scopes: route.scopes ?? [],
      entity: route.entity && { ...route.entity, match: route.entity.match ?? "id" },
    };
  });
  const trustedProxies = section?.trusted_proxies ?? LOOPBACK;
  const untrustable = addressListFault(trustedProxies);
  if (untrustable) fail(`gateway.trusted_proxies[${untrustable.index}]`, untrustable.message);
  const clash = routeSetFault(routes, (i) => `gateway.routes[${i}]`);
  if (clash) fail(`gateway.routes[${clash.index}].path`, clash.message);
  return {
    upstream: base?.replace(/\/+$/, ""),
    timeoutMs: Math.round((section?.timeout_seconds ?? 30) * 1000),
    maxBodyBytes: section?.max_body_bytes ?? 1024 * 1024,
    forwardedFor: section?.forwarded_for ?? false,
    trustedProxies: addressList(trustedProxies),
    routes,
  };
}

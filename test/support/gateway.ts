/**
 * The gateway test bed shared by the gateway's test files: a stub upstream per file, and a
 * Keygate proxying a set of routes to it — each a case the gateway treats apart (scopes, a
 * route's own limit, Idempotency-Key required, the entity selected from a body field, a
 * header, a path or query parameter).
 */
import { afterAll } from "bun:test";
import { type testApp, testAppPerTest } from "./http.ts";
import { startUpstream } from "./upstream.ts";

/** The routes of {@link gatewayTestBed}'s Keygate. */
export const GATEWAY_ROUTES = [
  { method: "GET", path: "/links", scopes: ["links:read"] },
  { method: "GET", path: "/links/:id", scopes: ["links:read"] },
  {
    method: "POST",
    path: "/links",
    scopes: ["links:write"],
    rate_limit: { limit: 3, window_seconds: 60 },
  },
  { method: "POST", path: "/orders", idempotency: "required" },
  {
    method: "POST",
    path: "/checkout",
    idempotency: "required",
    entity: { from: "body", name: "branch_ref", match: "reference", kinds: ["branch"] },
  },
  { method: "GET", path: "/reports", entity: { from: "header", name: "x-merchant-id" } },
  {
    method: "POST",
    path: "/payouts",
    idempotency: "required",
    entity: { from: "header", name: "x-merchant-id" },
  },
  { method: "GET", path: "/branches/:branch/summary", entity: { from: "path", name: "branch" } },
  { method: "GET", path: "/sales", entity: { from: "query", name: "merchant" } },
  { method: "GET", path: "/ledger", entity: { from: "header", name: "x_merchant" } },
];

/**
 * For one test file: a stub upstream (stopped after the file) and `gatewayApp`, which opens a
 * Keygate proxying {@link GATEWAY_ROUTES} to it (closed after each test), `gateway` merged
 * into its `gateway` section, with the upstream's record of calls emptied.
 */
export function gatewayTestBed() {
  const upstream = startUpstream();
  afterAll(() => upstream.stop());
  const testApp = testAppPerTest();
  function gatewayApp(gateway: object = {}) {
    const app = testApp({
      config: { gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES, ...gateway } },
    });
    upstream.calls.length = 0;
    return app;
  }
  return { upstream, testApp, gatewayApp };
}

/** POST /orders (its Idempotency-Key required) with `idempotencyKey`, as the platform key. */
export function order(
  call: ReturnType<typeof testApp>["call"],
  live: string,
  idempotencyKey: string,
  body: unknown = {},
) {
  return call("POST", "/orders", {
    key: live,
    headers: { "idempotency-key": idempotencyKey },
    body,
  });
}

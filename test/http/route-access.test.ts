/**
 * Keygate's own routes are closed by default: every route the app serves answers a request
 * with no credential `401 api_key_missing`, except the few that are open by design — so a
 * route added without its `scopes` fails here.
 */
import { expect, test } from "bun:test";
import { testAppPerTest } from "../support/http.ts";

const testApp = testAppPerTest();

/** The routes that take no API key, each with what it answers a request that has none. */
const OPEN_BY_DESIGN: Record<string, string> = {
  "GET /healthz": "200",
  "GET /readyz": "200",
  "GET /openapi.json": "200",
  // Sign-in and a user's own password change: the password is the credential (none sent).
  "POST /v1/auth/login": "400 invalid_request",
  "POST /v1/auth/password": "400 invalid_request",
  // Its own rule: an allowed address or the metrics token (app.handle has no address).
  "GET /metrics": "403 access_denied",
};

/** What a route needs besides a credential before it looks for one. */
const HEADERS: Record<string, Record<string, string>> = {
  // Forward-auth judges the request its proxy names.
  "GET /v1/forward-auth": { "x-original-method": "GET", "x-original-uri": "/orders" },
};

test("every route answers a request without a credential 401 api_key_missing, but those open by design", async () => {
  const { app, call } = testApp();
  const routes = (app.routes as { method: string; path: string }[]).map(
    ({ method, path }) => `${method} ${path}`,
  );
  expect(routes.length).toBeGreaterThan(25);
  const answers: Record<string, string> = {};
  for (const route of routes) {
    const [method, pattern] = route.split(" ") as [string, string];
    const reply = await call(method, pattern.replace(/:\w+/g, "x_1"), {
      headers: HEADERS[route] ?? {},
      ...(method === "GET" ? {} : { body: {} }),
    });
    answers[route] = `${reply.status} ${reply.body?.error?.code ?? ""}`.trim();
  }
  const expected = Object.fromEntries(
    routes.map((route) => [route, OPEN_BY_DESIGN[route] ?? "401 api_key_missing"]),
  );
  expect(answers).toEqual(expected);
});

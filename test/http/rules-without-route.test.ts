/** A route rule that covers no route the server serves stops the start (src/http/rules-without-route.ts). */
import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { testApp } from "../support/http.ts";

const policy = (method: string, path: string) => ({ method, path, limit: 1, window_seconds: 60 });
const gateway = {
  upstream: "http://127.0.0.1:9",
  routes: [
    { method: "POST", path: "/checkout", scopes: ["checkout:write"] },
    { method: "GET", path: "/checkout/:id", scopes: ["checkout:read"] },
  ],
};

/** The message the app's start stops with under `config`, or undefined if it starts. */
function startError(config: object): string | undefined {
  let app: ReturnType<typeof testApp> | undefined;
  try {
    app = testApp({ config });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  } finally {
    app?.close();
  }
}

describe("rules that cover no route", () => {
  test("a rate-limit policy or a required Idempotency-Key on a path or method no route serves stops the start, naming it", () => {
    for (const [config, named] of [
      [
        { gateway, rate_limits: { routes: [policy("POST", "/chekout")] } },
        "rate_limits.routes[0]: no route of this server serves POST /chekout, so the policy would never apply",
      ],
      [
        {
          rate_limits: { routes: [policy("GET", "/v1/me"), policy("DELETE", "/v1/api-keys/:id")] },
        },
        "rate_limits.routes[1]: no route of this server serves DELETE /v1/api-keys/:id, so the policy would never apply",
      ],
      [
        {
          gateway,
          idempotency: {
            required: [
              { method: "POST", path: "/checkout/" },
              { method: "POST", path: "/v1/api-key" },
            ],
          },
        },
        "idempotency.required[1]: no route of this server serves POST /v1/api-key, so the requirement would never apply",
      ],
    ] as const) {
      expect(startError(config)).toEndWith(`: ${named}`);
    }
  });

  test("a rule meeting a route anywhere is kept: Keygate's own, a gateway route's, a parameter, a *, HEAD beside GET", () => {
    expect(
      startError({
        gateway,
        rate_limits: {
          routes: [
            policy("POST", "/v1/api-keys*"),
            policy("GET", "/v1/me"),
            policy("HEAD", "/v1/me"),
            policy("GET", "/checkout/abc"),
            policy("HEAD", "/checkout/*"),
            policy("POST", "/:any"),
          ],
        },
        idempotency: {
          methods: ["POST", "PATCH"],
          required: [
            { method: "POST", path: "/checkout" },
            { method: "PATCH", path: "/v1/api-keys/:id" },
          ],
        },
      }),
    ).toBeUndefined();
  });
});

/** `GET /v1/me`: the calling key and its entity — served from memory, no SQL. */
import { Elysia } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { presentApiKey } from "../../app/present-api-key.ts";
import { apiKeyObjectOf, entityObjectOf } from "../../projections/queries.ts";
import { keygateGuard } from "../guard.ts";
import { documented, operationIdOf } from "../openapi.ts";

/** The /v1/me controller, also answering at each path of `me_aliases` (VoltzPay's `/me`). */
export function meRoutes(kg: Keygate) {
  const app = new Elysia({ name: "keygate/routes/me", normalize: false }).use(keygateGuard(kg));
  for (const path of ["/v1/me", ...kg.config.meAliases]) {
    app.get(
      path,
      ({ identity }) => {
        // Only API keys reach here: `/v1/me` is not a management route, so JWTs are refused.
        const key = identity.type === "api_key" ? identity.key : undefined;
        if (!key) throw new Error("unreachable: /v1/me accepts API keys only");
        return {
          key: presentApiKey(kg, apiKeyObjectOf(key, kg.now())),
          entity: entityObjectOf(key.entity),
          livemode: key.environment === "live",
        };
      },
      {
        scopes: [],
        detail: documented({
          summary: "The calling key and its entity",
          id: path === "/v1/me" ? "getMe" : operationIdOf("get", `/me-at${path}`),
          tag: "API keys",
          returns: "Me",
        }),
      },
    );
  }
  return app;
}

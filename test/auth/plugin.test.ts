/** keygate/auth inside any Elysia app: routes declare the scopes they need. */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { keygateAuth } from "../../src/auth/index.ts";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();

describe("keygate/auth in an application's own routes", () => {
  test("a route with { scopes } gets the typed identity; others are refused in the envelope", async () => {
    const t = openTestApp();
    const app = new Elysia()
      .use(requestContext({}, () => {}))
      .use(keygateAuth(t.kg))
      .get(
        "/links",
        ({ identity }) => ({
          entity: identity.entity.id,
          livemode: identity.environment === "live",
        }),
        {
          scopes: ["links:read"],
        },
      )
      .post("/links", () => ({ created: true }), { scopes: ["links:write"] })
      .get("/public", () => ({ open: true }));
    const reader = createApiKey(
      t.kg,
      { entityId: t.platform, environment: "test", name: "r", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const call = (method: string, path: string, key?: string) =>
      app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: key ? { authorization: `Bearer ${key}` } : {},
        }),
      );

    const ok = await call("GET", "/links", reader.secret);
    expect([ok.status, await ok.json()]).toEqual([200, { entity: t.platform, livemode: false }]);
    const write = await call("POST", "/links", reader.secret);
    expect(write.status).toBe(403);
    expect(codeOf({ body: await write.json() })).toBe("insufficient_scope");
    expect((await call("GET", "/links")).status).toBe(401);
    expect((await call("GET", "/public")).status).toBe(200);
  });
});

/**
 * Deny by default in an app that mounts Keygate (src/plugin.ts, src/auth/access-rule.ts): a
 * route after the plugin that declares neither `scopes` nor `public: true` is never served —
 * its start fails naming it, and a request to it (an app serving `app.fetch` unstarted) is a
 * 500 whose report names it, its handler never run.
 */
import { expect, test } from "bun:test";
import { Elysia } from "elysia";
import { initPlatform } from "../../src/commands/init.ts";
import { keygate } from "../../src/plugin.ts";
import { readReply } from "../support/http.ts";
import { TEST_ACTOR, testKeygatePerTest } from "../support/keygate.ts";

const testKeygate = testKeygatePerTest();

/** A shop whose refunds route forgot its `scopes`, beside a declared and a public route. */
function shop() {
  const kg = testKeygate();
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const reported: unknown[] = [];
  const runs = { refunds: 0, health: 0 };
  const thirdParty = new Elysia().get("/vendor/docs", () => "docs");
  const app = new Elysia()
    .get("/before", () => "registered before the plugin: not Keygate's")
    .use(keygate(kg, { reportInternal: (error) => reported.push(error) }))
    .get("/charges", () => ({ object: "list", data: [] }), { scopes: ["charges:read"] })
    .get(
      "/health",
      () => {
        runs.health += 1;
        return { ok: true };
      },
      { public: true },
    )
    .post("/refunds", () => {
      runs.refunds += 1;
      return { object: "refund" };
    })
    .get("/closed", () => "closed", { public: false })
    .group("/v2", (group) => group.get("/payouts", () => []))
    .use(thirdParty);
  const call = async (method: string, path: string, key?: string) =>
    readReply(
      await app.handle(
        new Request(`http://localhost${path}`, {
          method,
          headers: key ? { authorization: `Bearer ${key}` } : {},
        }),
      ),
    );
  return { app, call, reported, runs, key: init.keys.live };
}

test("a route that declares no access rule is refused, with or without a key, its handler never run", async () => {
  const { call, reported, runs, key } = shop();
  for (const credential of [undefined, key]) {
    const reply = await call("POST", "/refunds", credential);
    expect(reply.status).toBe(500);
    expect(reply.body.error.code).toBe("api_error");
    expect(reply.body.error.message).toBe("An internal error occurred.");
  }
  expect(runs.refunds).toBe(0);
  expect(String(reported[0])).toContain(
    "POST /refunds declares neither `scopes` nor `public: true`",
  );
  // `public: false` declares nothing; nor does a group, or a plugin used after Keygate's.
  expect((await call("GET", "/closed", key)).status).toBe(500);
  expect((await call("GET", "/v2/payouts", key)).status).toBe(500);
  expect((await call("GET", "/vendor/docs", key)).status).toBe(500);
});

test("scopes still authenticate; public: true answers anyone; a route before the plugin is not Keygate's", async () => {
  const { call, runs, key } = shop();
  expect((await call("GET", "/charges")).body.error.code).toBe("api_key_missing");
  expect((await call("GET", "/charges", key)).status).toBe(200);
  const health = await call("GET", "/health");
  expect([health.status, health.body]).toEqual([200, { ok: true }]);
  expect(runs.health).toBe(1);
  expect((await call("GET", "/before")).text).toBe("registered before the plugin: not Keygate's");
});

test("the app does not start while a route declares no access rule, and the message names each", () => {
  const { app } = shop();
  let message = "";
  try {
    app.listen(0);
  } catch (error) {
    message = (error as Error).message;
  } finally {
    app.stop();
  }
  expect(message).toBe(
    "POST /refunds, GET /closed, GET /v2/payouts, GET /vendor/docs declare neither `scopes` nor `public: true`: Keygate serves no route without an access rule. A plugin's routes that can take neither go before .use(keygate(kg)).",
  );
});

test("an app whose every route declares its rule starts", async () => {
  const kg = testKeygate();
  const app = new Elysia()
    .use(keygate(kg))
    .get("/health", () => "ok", { public: true })
    .get("/charges", () => [], { scopes: [] })
    .listen(0);
  try {
    const response = await fetch(`http://localhost:${app.server?.port}/health`);
    expect(await response.text()).toBe("ok");
  } finally {
    await app.stop();
  }
});

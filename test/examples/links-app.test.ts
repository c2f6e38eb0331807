/** examples/links-app.ts: Keygate mounted as plugins in an app of one's own. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { linksApp } from "../../examples/links-app.ts";
import { createApiKey, revokeApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { TEST_ACTOR, tempDir, testKeygate, testKeygatePerTest } from "../support/keygate.ts";

const keygateForTest = testKeygatePerTest();

function setup() {
  const kg = keygateForTest();
  const init = initPlatform(kg, { actor: "test", request_id: null });
  if (!init.created) throw new Error("expected a fresh database");
  const app = linksApp(kg);
  const call = async (method: string, path: string, key?: string, body?: object, headers = {}) => {
    const response = await app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
      }),
    );
    const parsed: any = await response.json();
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return { kg, init, call };
}

test("an Idempotency-Key retry is replayed, not run twice", async () => {
  const { init, call } = setup();
  const send = () =>
    call(
      "POST",
      "/links",
      init.keys.live,
      { amount: 9, currency: "usd" },
      { "idempotency-key": "links-once-1" },
    );
  const first = await send();
  const again = await send();
  expect(again.body).toEqual(first.body);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect((await call("GET", "/links", init.keys.live)).body.data).toHaveLength(1);
});

test("routes demand their scopes; the handler sees the caller's entity and environment", async () => {
  const { kg, init, call } = setup();
  const reader = createApiKey(
    kg,
    { entityId: init.entityId, environment: "live", name: "reader", scopes: ["links:read"] },
    { actor: "test", request_id: null },
  ).secret;
  expect((await call("GET", "/links")).body.error.code).toBe("api_key_missing");
  const created = await call("POST", "/links", init.keys.live, { amount: 500, currency: "eur" });
  expect(created.status).toBe(200);
  expect(created.body).toMatchObject({ entity_id: init.entityId, livemode: true });
  expect(created.headers.get("x-ratelimit-limit")).toBe("100");
  expect((await call("GET", "/links", init.keys.live)).body.data).toHaveLength(1);
  expect((await call("GET", "/links", init.keys.test)).body.data).toHaveLength(0);
  const denied = await call("POST", "/links", reader, { amount: 1, currency: "eur" });
  expect(denied.status).toBe(403);
  expect(denied.body.error.message).toContain("links:write");
  expect((await call("GET", "/links", reader)).status).toBe(200);
  const bad = await call("POST", "/links", init.keys.live, { amount: "lots", currency: "eur" });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe("invalid_request");
  // Money is a JSON number, never a string that looks like one; an unknown field is named.
  const posted = (body: object) => call("POST", "/links", init.keys.live, body);
  expect((await posted({ amount: "100", currency: "eur" })).body.error).toMatchObject({
    param: "amount",
    message: "amount: Expected integer.",
  });
  expect((await posted({ amount: 100, currency: "eur", amont: 1 })).body.error.param).toBe("amont");
  expect((await call("GET", "/links", init.keys.live)).body.data).toHaveLength(1);
});

test("listening, the app runs Keygate's background work: a key revoked by another process (the CLI) stops working", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "keygate.sqlite");
  const kg = testKeygate({ path });
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const key = createApiKey(
    kg,
    { entityId: init.entityId, environment: "live", name: "shop", scopes: ["links:read"] },
    TEST_ACTOR,
  );
  const app = linksApp(kg).listen(0);
  try {
    const links = () =>
      fetch(`http://localhost:${app.server?.port}/links`, {
        headers: { authorization: `Bearer ${key.secret}` },
      });
    expect((await links()).status).toBe(200); // now held in the app's key index
    // Another process on the same file, as `keygate keys revoke` is.
    const cli = testKeygate({ path });
    revokeApiKey(cli, key.id, "leaked", TEST_ACTOR);
    cli.close();
    let reply = await links();
    for (let i = 0; i < 100 && reply.status === 200; i++) {
      await Bun.sleep(20);
      reply = await links();
    }
    expect(reply.status).toBe(401);
    expect(((await reply.json()) as { error: { code: string } }).error.code).toBe(
      "api_key_revoked",
    );
  } finally {
    await app.stop();
    kg.close();
    remove();
  }
});

test("a 404 names the method and path; listening, it also names what the app's own path takes", async () => {
  const { call } = setup();
  const unheard = await call("DELETE", "/links");
  expect([unheard.status, unheard.body.error.message]).toEqual([
    404,
    "No route answers DELETE /links.",
  ]);
  const { dir, remove } = tempDir();
  const kg = testKeygate({ path: join(dir, "keygate.sqlite") });
  const app = linksApp(kg).listen(0);
  try {
    const reply = await fetch(`http://localhost:${app.server?.port}/links`, { method: "DELETE" });
    const body = (await reply.json()) as { error: { message: string } };
    expect([reply.status, body.error.message, reply.headers.get("allow")]).toEqual([
      404,
      "No route answers DELETE /links; /links takes GET, HEAD, POST.",
      "GET, HEAD, POST",
    ]);
  } finally {
    await app.stop();
    kg.close();
    remove();
  }
});

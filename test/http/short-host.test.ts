/**
 * A Host shorter than the router assumes (src/http/short-host.ts): Elysia would read a later
 * part of the path as the whole, so such a request is refused before it is routed — here the
 * gateway bypass it allowed (`Host: ab` made `GET /admin/secrets` pass as `GET /:name`).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { initPlatform } from "../../src/commands/init.ts";
import { shortHostRefusal } from "../../src/http/short-host.ts";
import { keygate } from "../../src/plugin.ts";
import { codeOf, readReply, testAppPerTest } from "../support/http.ts";
import { TEST_ACTOR, testKeygate } from "../support/keygate.ts";
import { startUpstream } from "../support/upstream.ts";

const testApp = testAppPerTest();
const upstream = startUpstream();
afterAll(() => upstream.stop());

describe("shortHostRefusal", () => {
  test("refuses a URL whose path starts before the router looks for it, and only those", () => {
    for (const url of ["http://ab/admin/secrets", "http://abc/v1/me", "http://x", "https://ab/x"])
      expect(shortHostRefusal(url)?.code, url).toBe("invalid_request");
    for (const url of [
      "http://abcd/v1/me",
      "http://ab:3000/v1/me",
      "https://abc/v1/me",
      "http://[::1]/v1/me",
      "http://localhost/",
    ])
      expect(shortHostRefusal(url), url).toBeUndefined();
    const refusal = shortHostRefusal("http://ab/admin/secrets");
    expect(refusal?.param).toBe("Host");
    expect(refusal?.message).toStartWith('The Host "ab" is too short');
  });
});

describe("before routing", () => {
  const routes = [
    { method: "GET", path: "/:name", scopes: ["public:read"] },
    { method: "GET", path: "/admin/secrets", scopes: ["admin:read"] },
  ];

  test("the gateway: a short Host no longer passes /admin/secrets off as /:name", async () => {
    const { app, call, live } = testApp({
      config: { gateway: { upstream: upstream.url, routes } },
    });
    const weak = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "weak", scopes: ["public:read"] },
    });
    const send = (host: string) =>
      app
        .handle(
          new Request(`http://${host}/admin/secrets`, {
            headers: { authorization: `Bearer ${weak.body.secret}` },
          }),
        )
        .then(readReply);
    upstream.calls.length = 0;
    expect(codeOf(await send("localhost"))).toBe("insufficient_scope");
    const reply = await send("ab");
    expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
      400,
      "invalid_request",
      "Host",
    ]);
    expect(reply.headers.get("x-request-id")).toStartWith("req_");
    expect(upstream.calls).toHaveLength(0);
  });

  test("Keygate's own routes and an app with the plugin refuse it too", async () => {
    const { app, live } = testApp();
    const me = await app.handle(
      new Request("http://api/v1/me", { headers: { authorization: `Bearer ${live}` } }),
    );
    expect(me.status).toBe(400);
    const kg = testKeygate();
    try {
      const init = initPlatform(kg, TEST_ACTOR);
      if (!init.created) throw new Error("expected a fresh database");
      const own = new Elysia()
        .use(keygate(kg))
        .get("/v1/refunds", () => "refunds", { scopes: ["refunds:read"] });
      const reply = await readReply(
        await own.handle(
          new Request("http://kg/v1/refunds", {
            headers: { authorization: `Bearer ${init.keys.live}` },
          }),
        ),
      );
      expect([reply.status, codeOf(reply)]).toEqual([400, "invalid_request"]);
    } finally {
      kg.close();
    }
  });
});

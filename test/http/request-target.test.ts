/**
 * A URL the router would read another path from than its own (src/http/request-target.ts): a
 * Host too short for the router or not valid, a fragment. Keygate's own plain-HTTP server reads
 * any host right; otherwise such a request is refused before it is routed — here the gateway
 * bypasses they allowed (`Host: ab` made `GET /admin/secrets` pass as `GET /:name`, and `#x`
 * made it pass as `GET /:a/:b`).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { initPlatform } from "../../src/commands/init.ts";
import { requestTargetRefusal, routerHandlerOptions } from "../../src/http/request-target.ts";
import { keygate } from "../../src/plugin.ts";
import { codeOf, readReply, testAppPerTest } from "../support/http.ts";
import { TEST_ACTOR, testKeygate } from "../support/keygate.ts";
import { startUpstream } from "../support/upstream.ts";

const testApp = testAppPerTest();
const upstream = startUpstream();
afterAll(() => upstream.stop());

/** A request as the server hands it over: its URL as the runtime built it, and its Host. */
const served = (url: string, host: string | null) =>
  ({ url, headers: new Headers(host === null ? {} : { host }) }) as Request;

describe("requestTargetRefusal", () => {
  test("refuses a URL whose path starts before the router looks for it, and only those", () => {
    for (const [url, host] of [
      ["http://ab/admin/secrets", "ab"],
      ["http://abc/v1/me", "abc"],
      ["http://ab/v1/me", "ab:80"], // the default port is dropped from the URL
      ["https://ab/x", "ab"],
    ] as const)
      expect(requestTargetRefusal(served(url, host))?.message, url).toBe(
        `The Host "${host}" is too short for the server to read the request's path: send a host name or address of at least 4 characters, or a port other than the scheme's default.`,
      );
    for (const [url, host] of [
      ["http://abcd/v1/me", "abcd"],
      ["http://ab:3000/v1/me", "ab:3000"],
      ["https://abc/v1/me", "abc"],
      ["http://[::1]/v1/me", "[::1]"],
      ["http://127.0.0.1:3000/", "127.0.0.1:3000"],
      ["http://localhost/", null], // Deno: no Host, the server's own address
    ] as const)
      expect(requestTargetRefusal(served(url, host)), url).toBeUndefined();
  });

  test("refuses a request without a valid Host: Bun's URL is then the bare path; a % or a space in the URL's host", () => {
    for (const [url, host] of [
      ["/abcdefghijklmnop/x", null],
      ["/abcdefghijklmnop/x", ""],
      ["/abcdefghijklmnop/x", "a/b"],
      ["/x?next=http://abcd/", "abcd@evil"],
      ["http://abcd%2F/admin", "abcd%2F"], // the gateway's URL parser threw on it
      ["http://abcd efgh/admin", "abcd efgh"], // Deno puts it in the URL as sent
    ] as const) {
      const refusal = requestTargetRefusal(served(url, host));
      expect([url, refusal?.code, refusal?.param]).toEqual([url, "invalid_request", "Host"]);
      expect(refusal?.message).toStartWith("The request has no valid Host header");
    }
  });

  test("where the router searches from right after http:// (Keygate's own plain-HTTP server), any host is read right; an https URL is not", () => {
    const { searchFrom, handler } = routerHandlerOptions(false);
    expect(handler.standardHostname).toBe(false);
    for (const [url, host] of [
      ["http://ab/admin/secrets", "ab"],
      ["http://x/v1/me", "x"],
    ] as const)
      expect(requestTargetRefusal(served(url, host), searchFrom), url).toBeUndefined();
    // Searching from 7, the router would find the "//" of https://: over TLS it stays at 11.
    expect(
      requestTargetRefusal(served("https://abcdefgh/x", "abcdefgh"), searchFrom),
    ).toBeDefined();
    expect(routerHandlerOptions(true)).toEqual({
      handler: { standardHostname: true },
      searchFrom: 11,
    });
    expect(requestTargetRefusal(served("https://ab/x", "ab"), 11)?.param).toBe("Host");
  });

  test("refuses a target that is not a path behind a valid Host (CONNECT's host:port)", () => {
    expect(requestTargetRefusal(served("localhost:443", "localhost"))?.message).toBe(
      "The request's target is not a path: send one that starts with /.",
    );
  });

  test("refuses a fragment, which the router reads as part of the path and the URL does not", () => {
    for (const url of ["http://localhost/admin/secrets#x", "http://localhost/a?b=1#x"])
      expect(requestTargetRefusal(served(url, "localhost"))?.message, url).toStartWith(
        "The request's target holds a fragment",
      );
    expect(requestTargetRefusal(served("http://localhost/a?b=%23", "localhost"))).toBeUndefined();
  });
});

describe("before routing", () => {
  const routes = [
    { method: "GET", path: "/:name", scopes: ["public:read"] },
    { method: "GET", path: "/admin/secrets", scopes: ["admin:read"] },
  ];

  test("the gateway, on plain HTTP: a short Host is routed by the request's own path, /admin/secrets, not /:name", async () => {
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
    for (const host of ["ab", "x"]) {
      const reply = await send(host);
      expect([host, reply.status, codeOf(reply)]).toEqual([host, 403, "insufficient_scope"]);
    }
    expect(upstream.calls).toHaveLength(0);
  });

  test("the gateway: a fragment no longer passes /admin/secrets off as /:a/:b", async () => {
    const { app, call, live } = testApp({
      config: {
        gateway: {
          upstream: upstream.url,
          routes: [
            { method: "GET", path: "/:a/:b", scopes: ["public:read"] },
            { method: "GET", path: "/admin/secrets", scopes: ["admin:read"] },
          ],
        },
      },
    });
    const weak = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "weak", scopes: ["public:read"] },
    });
    upstream.calls.length = 0;
    const reply = await readReply(
      await app.handle(
        new Request("http://localhost/admin/secrets#x", {
          headers: { authorization: `Bearer ${weak.body.secret}` },
        }),
      ),
    );
    expect([reply.status, codeOf(reply)]).toEqual([400, "invalid_request"]);
    expect(upstream.calls).toHaveLength(0);
  });

  test("Keygate's own routes answer behind a short Host; an app with the plugin, whose router assumes a long one, refuses it", async () => {
    const { app, live } = testApp();
    const me = await app.handle(
      new Request("http://api/v1/me", { headers: { authorization: `Bearer ${live}` } }),
    );
    expect(me.status).toBe(200);
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

/**
 * Gateway mode (SPEC §7, issue 6): configured routes are authenticated, scope-checked,
 * rate-limited and made idempotent, then proxied to a stub upstream that records what it
 * receives; what the upstream and the client receive, and what is refused before it is sent.
 * The upstream's failures and entity selection have files of their own.
 */
import { describe, expect, test } from "bun:test";
import { rememberPeer } from "../../src/http/peer-address.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { GATEWAY_ROUTES, gatewayTestBed, order } from "../support/gateway.ts";
import { chunkedPost, codeOf, readReply } from "../support/http.ts";
import { answerWithOwnIdsAndLimits, echo } from "../support/upstream.ts";

const { upstream, testApp, gatewayApp } = gatewayTestBed();

describe("proxying", () => {
  test("X-Forwarded-Proto: the scheme the client used — a trusted proxy's word for it, never a client's", async () => {
    const plain = gatewayApp();
    // Keygate serving TLS itself (serve reads these files; the app only knows it serves TLS).
    const tls = testApp({
      env: { KEYGATE_TLS_CERT: "served.pem", KEYGATE_TLS_KEY: "served.key" },
      config: { gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES } },
    });
    const protoSeen = async (
      through: typeof plain,
      url: string,
      headers: Record<string, string> = {},
      peer?: string,
    ) => {
      const request = new Request(url, {
        headers: { authorization: `Bearer ${through.live}`, ...headers },
      });
      if (peer) rememberPeer(request, peer);
      upstream.calls.length = 0;
      expect((await through.app.handle(request)).status).toBe(200);
      return upstream.calls[0]?.headers.get("x-forwarded-proto");
    };
    expect(await protoSeen(tls, "https://localhost/links")).toBe("https");
    expect(await protoSeen(plain, "http://localhost/links")).toBe("http");
    // A client cannot claim a scheme it did not use,
    expect(
      await protoSeen(
        plain,
        "http://localhost/links",
        { "x-forwarded-proto": "https" },
        "203.0.113.9",
      ),
    ).toBe("http");
    // but the TLS proxy in front of Keygate (a trusted one: loopback by default) can say so.
    expect(
      await protoSeen(
        plain,
        "http://localhost/links",
        { "x-forwarded-proto": "https" },
        "127.0.0.1",
      ),
    ).toBe("https");
    expect(
      await protoSeen(
        plain,
        "http://localhost/links",
        { "x-forwarded-proto": "gopher" },
        "127.0.0.1",
      ),
    ).toBe("http");
  });

  test("the upstream gets the request with the caller's identity, never its credential", async () => {
    const { call, live, platform } = gatewayApp();
    const reply = await call("GET", "/links/lnk_1?expand=owner&x=%20y", {
      key: live,
      headers: {
        "x-keygate-key-id": "key_forged",
        "x-keygate-entity-id": "ent_forged",
        // One name to PHP, Django and Rack (HTTP_X_KEYGATE_ENTITY_ID): dropped as well.
        X_Keygate_Entity_Id: "ent_forged",
        "x-keygate_scopes": "*",
        X_Api_Key: live,
        connection: "x-private-hop",
        "x-private-hop": "secret",
        "keep-alive": "timeout=5",
        "x-custom": "kept",
      },
    });
    expect(reply.status).toBe(200);
    expect(upstream.calls).toHaveLength(1);
    const seen = upstream.calls[0];
    expect(seen?.url).toBe("/links/lnk_1?expand=owner&x=%20y");
    const h = seen?.headers as Headers;
    expect(h.get("authorization")).toBeNull();
    expect([...h.keys()].filter((name) => name.includes("_"))).toEqual([]);
    expect(h.get("x-private-hop")).toBeNull();
    expect(h.get("keep-alive")).toBeNull();
    expect(h.get("x-custom")).toBe("kept");
    expect(h.get("x-keygate-key-id")).toMatch(/^key_/);
    expect(h.get("x-keygate-key-id")).not.toBe("key_forged");
    expect(h.get("x-keygate-entity-id")).toBe(platform);
    expect(h.get("x-keygate-entity-path")).toBe(platform);
    expect(h.get("x-keygate-livemode")).toBe("true");
    expect(h.get("x-keygate-scopes")).toBe("*");
    expect(h.get("x-request-id")).toBe(reply.headers.get("x-request-id"));
    expect(h.get("x-correlation-id")).toBe(reply.headers.get("x-correlation-id"));
    expect(reply.body).toMatchObject({ object: "echo", key_id: h.get("x-keygate-key-id") });
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
  });

  test("the X-Api-Key credential is dropped too; the upstream's status, headers and bytes come back", async () => {
    const { call, test: testKey } = gatewayApp();
    upstream.answer(
      () =>
        new Response("plain bytes \u00e9", {
          status: 418,
          headers: { "x-upstream": "yes", "content-type": "text/plain; charset=utf-8" },
        }),
    );
    try {
      const reply = await call("GET", "/links", { headers: { "x-api-key": testKey } });
      expect(reply.status).toBe(418);
      expect(reply.text).toBe("plain bytes \u00e9");
      expect(reply.headers.get("x-upstream")).toBe("yes");
      expect(upstream.calls[0]?.headers.get("x-api-key")).toBeNull();
      expect(upstream.calls[0]?.headers.get("x-keygate-livemode")).toBe("false");
    } finally {
      upstream.answer(echo);
    }
  });

  test("Keygate's request id, correlation id and rate-limit fields win over the upstream's of the same names", async () => {
    // The client's X-Request-Id must be the one in Keygate's log; its X-RateLimit-* Keygate's.
    const { call, live } = gatewayApp();
    upstream.answer(answerWithOwnIdsAndLimits);
    try {
      for (const idempotencyKey of [undefined, "upstream-ids-0001"]) {
        const reply = await call(
          idempotencyKey ? "POST" : "GET",
          idempotencyKey ? "/orders" : "/links",
          {
            key: live,
            ...(idempotencyKey ? { headers: { "idempotency-key": idempotencyKey }, body: {} } : {}),
          },
        );
        expect(reply.status).toBe(200);
        expect(reply.headers.get("x-request-id")).toMatch(/^req_/);
        expect(reply.headers.get("x-request-id")).not.toBe("req_upstream");
        expect(reply.headers.get("x-correlation-id")).not.toBe("upstream-correlation");
        expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
        expect(reply.headers.get("ratelimit")).toStartWith('"default";');
        if (!idempotencyKey) expect(reply.headers.get("x-upstream")).toBe("yes");
      }
    } finally {
      upstream.answer(echo);
    }
  });

  test("a key in X-Api-Key never goes upstream, even where that scheme is off or renamed", async () => {
    for (const api_key_header of [false, "X-Partner-Key"]) {
      const { call, live } = testApp({
        config: {
          auth: { api_key_header },
          gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES },
        },
      });
      upstream.calls.length = 0;
      const reply = await call("GET", "/links", {
        key: live,
        headers: { "x-api-key": live, "x-partner-key": live },
      });
      expect(reply.status).toBe(200);
      const sent = upstream.calls[0]?.headers;
      expect([sent?.get("x-api-key"), sent?.get("x-partner-key")]).toEqual([
        null,
        api_key_header ? null : live,
      ]);
    }
  });

  test("a POST body reaches the upstream byte for byte", async () => {
    const { call, live } = gatewayApp();
    const body = '{"amount": 1000,  "currency":"eur"}';
    const reply = await call("POST", "/links", { key: live, body });
    expect(reply.status).toBe(201);
    expect(upstream.calls[0]?.body).toBe(body);
    expect(upstream.calls[0]?.headers.get("content-type")).toBe("application/json");
  });

  test("a Location naming the upstream comes back as the client's path, on the first answer and on its replay", async () => {
    const { call, live } = gatewayApp();
    upstream.answer(
      () =>
        new Response("{}", {
          status: 201,
          headers: { location: `${upstream.url}/orders/ord_1`, "content-type": "application/json" },
        }),
    );
    try {
      const send = () => order(call, live, "located-00001");
      const first = await send();
      const replay = await send();
      expect([first.status, first.headers.get("location")]).toEqual([201, "/orders/ord_1"]);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.headers.get("location")).toBe("/orders/ord_1");
      const plain = await call("GET", "/links", { key: live });
      expect(plain.headers.get("location")).toBe("/orders/ord_1");
    } finally {
      upstream.answer(echo);
    }
  });

  test("the first answer to an idempotent request carries every header the upstream sent; its replay, the recorded ones", async () => {
    const { call, live } = gatewayApp();
    upstream.answer(() => {
      const headers = new Headers({ "content-type": "application/json", "x-upstream-id": "u_1" });
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; Path=/");
      return new Response('{"id":"ord_1"}', { status: 201, headers });
    });
    try {
      const send = () => order(call, live, "all-headers-01");
      const first = await send();
      expect(first.status).toBe(201);
      expect(first.headers.get("x-upstream-id")).toBe("u_1");
      expect(first.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
      expect(first.headers.get("x-request-id")).toMatch(/^req_/);
      // A replay repeats what was recorded: the body and its content headers, not the
      // upstream's cookies or ids, which belonged to that first exchange.
      const replay = await send();
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect([replay.status, replay.text]).toEqual([201, '{"id":"ord_1"}']);
      expect(replay.headers.get("content-type")).toBe("application/json");
      expect(replay.headers.get("x-upstream-id")).toBeNull();
      expect(replay.headers.getSetCookie()).toEqual([]);
    } finally {
      upstream.answer(echo);
    }
  });

  test("the upstream's Cache-Control comes back on the first answer and on its replay", async () => {
    const { call, live } = gatewayApp();
    upstream.answer(() =>
      Response.json({}, { status: 201, headers: { "cache-control": "private, max-age=0" } }),
    );
    try {
      const send = () => order(call, live, "cached-000001");
      const first = await send();
      const replay = await send();
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect([first.headers.get("cache-control"), replay.headers.get("cache-control")]).toEqual([
        "private, max-age=0",
        "private, max-age=0",
      ]);
    } finally {
      upstream.answer(echo);
    }
  });

  test("a path and query Keygate does not read are the upstream's: a repeated parameter, an odd encoding, forwarded as sent", async () => {
    const { call, live } = gatewayApp();
    const reply = await call("GET", "/links?tag=a&tag=b", { key: live });
    expect(reply.status).toBe(200);
    expect(upstream.calls[0]?.url).toBe("/links?tag=a&tag=b");
    const odd = await call("GET", "/links/%ZZ", { key: live });
    expect(odd.status).toBe(200);
    expect(upstream.calls[1]?.url).toBe("/links/%ZZ");
    // A HEAD is served by the GET route, and is the upstream's just the same.
    const head = await call("HEAD", "/links?tag=a&tag=b", { key: live });
    expect(head.status).toBe(200);
    expect([upstream.calls[2]?.method, upstream.calls[2]?.url]).toEqual([
      "HEAD",
      "/links?tag=a&tag=b",
    ]);
  });

  test("a HEAD is answered with the Content-Length the upstream gave it, the GET's (RFC 9110 §8.6), not the 0 of an empty body", async () => {
    const { call, live } = gatewayApp();
    const body = JSON.stringify({ data: "x".repeat(1_000) });
    const huge = "5368709120"; // 5 GiB: said, never made
    const absurd = "9000000000000000"; // an upstream's mistake: not handed on, no core held
    upstream.answer(({ url }) =>
      url.endsWith("/big")
        ? new Response(null, { headers: { "content-length": huge } })
        : url.endsWith("/absurd")
          ? new Response(null, { headers: { "content-length": absurd } })
          : url.endsWith("/none")
            ? new Response(null, { status: 204 })
            : new Response(body, { headers: { "content-type": "application/json" } }),
    );
    try {
      const length = String(Buffer.byteLength(body));
      expect((await call("GET", "/links", { key: live })).headers.get("content-length")).toBe(
        length,
      );
      // A route with a parameter and one without take different paths through the router.
      for (const path of ["/links", "/links/lnk_1"]) {
        const head = await call("HEAD", path, { key: live });
        expect([head.status, head.headers.get("content-length"), head.text]).toEqual([
          200,
          length,
          "",
        ]);
      }
      expect((await call("HEAD", "/links/big", { key: live })).headers.get("content-length")).toBe(
        huge,
      );
      const tooLong = await call("HEAD", "/links/absurd", { key: live });
      expect([tooLong.status, tooLong.headers.get("content-length")]).toEqual([200, "0"]);
      const none = await call("HEAD", "/links/none", { key: live });
      expect([none.status, none.text]).toEqual([204, ""]);
      expect(upstream.calls.map((c) => c.method)).toEqual([
        "GET",
        "HEAD",
        "HEAD",
        "HEAD",
        "HEAD",
        "HEAD",
      ]);
    } finally {
      upstream.answer(echo);
    }
  });

  test("a body Keygate reads but does not store is the upstream's to judge: an unpaired surrogate, an array, null, a member given twice go through", async () => {
    const { call, live } = gatewayApp();
    const bodies = ['{"note":"\\ud800"}', '[{"amount":1}]', "null", '"text"', '{"a":1,"a":2}'];
    for (const [at, body] of bodies.entries()) {
      const reply = await order(call, live, `upstream-judges-${at}`, body);
      expect(reply.status).toBe(201);
      expect(upstream.calls[at]?.body).toBe(body);
    }
  });

  test("with an Idempotency-Key too, a body Keygate only fingerprints is passed on unparsed: a form, broken JSON, gzip bytes, JSON nested past Keygate's own limit", async () => {
    const { app, live } = gatewayApp();
    const text = (body: string) => new TextEncoder().encode(body);
    const bodies: [Uint8Array, Record<string, string>][] = [
      [text("amount=1000&currency=eur"), { "content-type": "application/x-www-form-urlencoded" }],
      [text('{"amount":'), { "content-type": "application/json" }],
      [
        Bun.gzipSync(text('{"amount":1000}')),
        { "content-type": "application/json", "content-encoding": "gzip" },
      ],
      [text("[".repeat(1_000) + "]".repeat(1_000)), { "content-type": "application/json" }],
    ];
    for (const [at, [body, headers]] of bodies.entries()) {
      const send = async () =>
        readReply(
          await app.handle(
            new Request("http://localhost/orders", {
              method: "POST",
              headers: {
                authorization: `Bearer ${live}`,
                "idempotency-key": `passed-on-${at}`,
                ...headers,
              },
              body,
            }),
          ),
        );
      const first = await send();
      expect(first.status, `body ${at}`).toBe(201);
      expect(upstream.calls[at]?.bytes).toEqual(body);
      expect(upstream.calls[at]?.headers.get("content-encoding")).toBe(
        headers["content-encoding"] ?? null,
      );
      const retry = await send();
      expect([retry.status, retry.headers.get("idempotent-replayed")]).toEqual([201, "true"]);
      expect(retry.text).toBe(first.text);
    }
    expect(upstream.calls).toHaveLength(bodies.length);
  });

  test("refused before the upstream: no key 401, a missing scope 403, an unknown path 404", async () => {
    const { call, live } = gatewayApp();
    const reader = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "reader", scopes: ["links:read"] },
    });
    expect(codeOf(await call("GET", "/links"))).toBe("api_key_missing");
    const denied = await call("POST", "/links", { key: reader.body.secret, body: {} });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain("links:write");
    const unknown = await call("GET", "/nowhere", { key: live });
    expect(unknown.status).toBe(404);
    expect(codeOf(unknown)).toBe("resource_missing");
    const wrongMethod = await call("DELETE", "/links", { key: live });
    expect(wrongMethod.status).toBe(404);
    // The gateway's routes are in the table a 404 reads: the methods /links takes are named.
    expect(wrongMethod.body.error.message).toMatch(
      /^No route answers DELETE \/links; \/links takes /,
    );
    expect(wrongMethod.headers.get("allow")?.split(", ")).toContain("POST");
    expect(upstream.calls).toHaveLength(0);
  });

  test("a route's rate limit applies per key; refused requests never reach the upstream", async () => {
    const { call, live } = gatewayApp();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await call("POST", "/links", { key: live, body: {} })).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    expect(upstream.calls).toHaveLength(3);
  });

  test("Idempotency-Key: required where configured; a retry is replayed without a second upstream call", async () => {
    const { call, live } = gatewayApp();
    expect(codeOf(await call("POST", "/orders", { key: live, body: { a: 1 } }))).toBe(
      "idempotency_key_missing",
    );
    const send = () => order(call, live, "order-00001", { a: 1 });
    const first = await send();
    const retry = await send();
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.calls).toHaveLength(1);
    expect(upstream.calls[0]?.headers.get("idempotency-key")).toBe("order-00001");
  });

  test("a route's own limit and Idempotency-Key rule hold for the requests it serves, not for a route its pattern overlaps", async () => {
    const { call, live } = testApp({
      config: {
        gateway: {
          upstream: upstream.url,
          routes: [
            { method: "GET", path: "/accounts/:id", rate_limit: { limit: 1, window_seconds: 60 } },
            { method: "GET", path: "/accounts/export" },
            { method: "POST", path: "/orders/:id", idempotency: "required" },
            { method: "POST", path: "/orders/bulk" },
          ],
        },
      },
    });
    upstream.calls.length = 0;
    const statuses = async (method: string, path: string, times: number) => {
      const seen: number[] = [];
      for (let i = 0; i < times; i++) seen.push((await call(method, path, { key: live })).status);
      return seen;
    };
    expect(await statuses("GET", "/accounts/acc_1", 2)).toEqual([200, 429]);
    expect(await statuses("GET", "/accounts/export", 3)).toEqual([200, 200, 200]);
    expect(await statuses("POST", "/orders/bulk", 1)).toEqual([201]);
    const missing = await call("POST", "/orders/ord_1", { key: live });
    expect([missing.status, codeOf(missing)]).toEqual([400, "idempotency_key_missing"]);
    // Forward-auth judges by the same route.
    const ask = (method: string, uri: string) =>
      call("GET", "/v1/forward-auth", {
        key: live,
        headers: { "x-original-method": method, "x-original-uri": uri },
      });
    expect((await ask("GET", "/accounts/export")).status).toBe(200);
    expect((await ask("GET", "/accounts/acc_2")).status).toBe(429);
  });

  test("the body limit: 413 in the envelope, nothing sent upstream", async () => {
    const { call, live } = gatewayApp({ max_body_bytes: 16 });
    const reply = await call("POST", "/links", { key: live, body: { note: "x".repeat(100) } });
    expect(reply.status).toBe(413);
    expect(codeOf(reply)).toBe("request_too_large");
    const keyed = await order(call, live, "too-large-01", { note: "x".repeat(100) });
    expect(keyed.status).toBe(413);
    expect(upstream.calls).toHaveLength(0);
  });

  test("a GET or HEAD that says it has a body is refused, not sent upstream without it; Content-Length: 0 is no body", async () => {
    const { app, live } = gatewayApp();
    // The runtime gives the server a GET's body as none: only its headers tell.
    const sent = async (method: string, headers: Record<string, string>) => {
      const response = await app.handle(
        new Request("http://localhost/links", {
          method,
          headers: { authorization: `Bearer ${live}`, ...headers },
        }),
      );
      return [response.status, method === "HEAD" ? null : await response.json()];
    };
    const refusal = (method: string) => ({
      error: expect.objectContaining({
        code: "invalid_request",
        message: `A ${method} request cannot carry a body through the gateway (it would reach the upstream without it): send the body with POST, or none.`,
      }),
    });
    expect(await sent("GET", { "content-length": "5" })).toEqual([400, refusal("GET")]);
    expect(await sent("GET", { "transfer-encoding": "chunked" })).toEqual([400, refusal("GET")]);
    expect((await sent("HEAD", { "content-length": "5" }))[0]).toBe(400);
    expect(upstream.calls).toHaveLength(0);
    expect((await sent("GET", { "content-length": "0" }))[0]).toBe(200);
    expect((await sent("GET", {}))[0]).toBe(200);
    expect(upstream.calls).toHaveLength(2);
  });
});

test("a streamed body without Content-Length is cut off at the limit: 413, the upstream acts on nothing", async () => {
  const { app, live } = gatewayApp({ max_body_bytes: 1024 });
  const chunk = new Uint8Array(512).fill(120);
  const response = await app.handle(
    chunkedPost(
      "http://localhost/links",
      { authorization: `Bearer ${live}`, "content-type": "application/octet-stream" },
      Array(8).fill(chunk),
    ),
  );
  expect(response.status).toBe(413);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
    "request_too_large",
  );
  expect(upstream.calls.filter((c) => c.body.length > 0)).toHaveLength(0);
});

test("a path an upstream may route to another route than Keygate matched is refused, never sent upstream", async () => {
  // Each of these matches /files/:name/raw here, and an upstream that decodes, merges slashes
  // or drops path parameters may serve it as /files/private/raw.
  const { call, live } = gatewayApp({
    routes: [
      { method: "GET", path: "/files/:name/raw", scopes: ["files:read"] },
      { method: "GET", path: "/files/private/*", scopes: ["private:read"] },
      { method: "GET", path: "/files/*", scopes: ["files:read"] },
    ],
  });
  const reader = await call("POST", "/v1/api-keys", {
    key: live,
    body: { name: "reader", scopes: ["files:read"] },
  });
  const key = reader.body.secret as string;
  expect((await call("GET", "/files/private/raw", { key })).status).toBe(403);
  for (const path of [
    "/files/%70rivate/raw",
    "/files//private/raw",
    "/files/private;x=1/raw",
    "/files/x/..;/private/raw",
    "/files/x/..%2fprivate/raw",
    "/files/x/..%5Cprivate/raw",
    "/files/%2570rivate/raw",
  ]) {
    const reply = await call("GET", path, { key });
    expect([path, reply.status, codeOf(reply)]).toEqual([path, 400, "invalid_request"]);
    expect(reply.body.error.message).toContain("an upstream may route it differently");
  }
  expect(upstream.calls).toHaveLength(0);
  for (const path of ["/files/report/raw", "/files/a%20b/raw", "/files/%E6%97%A5/raw"])
    expect([path, (await call("GET", path, { key })).status]).toEqual([path, 200]);
  expect(upstream.calls.map((c) => c.url)).toEqual([
    "/files/report/raw",
    "/files/a%20b/raw",
    "/files/%E6%97%A5/raw",
  ]);
});

test("a request claiming another method or path than its own (X-HTTP-Method-Override, _method, X-Original-URL) is refused, never sent upstream", async () => {
  // A key allowed to POST /orders must not DELETE, or reach another path, through an upstream
  // that honours overrides.
  const { call, live } = gatewayApp();
  for (const [path, headers, param] of [
    ["/orders", { "x-http-method-override": "DELETE" }, "x-http-method-override"],
    ["/orders", { "X-HTTP-Method": "PUT" }, "x-http-method"],
    ["/orders", { "x-method-override": "PATCH" }, "x-method-override"],
    ["/orders?_method=DELETE", {}, "_method"],
    ["/orders", { "X-Original-URL": "/admin/orders" }, "x-original-url"],
    ["/orders", { "x-rewrite-url": "/admin/orders" }, "x-rewrite-url"],
  ] as const) {
    const reply = await call("POST", path, {
      key: live,
      headers: { ...headers, "idempotency-key": `override-${param}` },
      body: {},
    });
    expect([param, reply.status, codeOf(reply), reply.body.error.param]).toEqual([
      param,
      400,
      "invalid_request",
      param,
    ]);
    expect(reply.body.error.message).toContain(
      param.endsWith("url") ? "by its own path" : "by its own method (POST)",
    );
  }
  expect(upstream.calls).toHaveLength(0);
  // Refused, not recorded: the same key goes upstream once the request is sent as meant.
  expect((await order(call, live, "override-_method")).status).toBe(201);
  expect(upstream.calls).toHaveLength(1);
});

test("a URL holding a secret key — the caller's, or any real one — is refused, never sent upstream; a public key or a look-alike passes", async () => {
  const { call, live } = gatewayApp();
  const other = generateKey("sk", "test");
  const look = `sk_live_${"a".repeat(32)}`; // the right shape, not a valid checksum
  for (const url of [
    `/links?api_key=${live}`,
    `/links/${live}`,
    `/links?x=1&token=${other}`,
    `/links?key=${encodeURIComponent(live).replaceAll("_", "%5F")}`,
  ]) {
    const reply = await call("GET", url, { key: live });
    expect([url, reply.status, codeOf(reply)]).toEqual([url, 400, "invalid_request"]);
    expect(reply.body.error.message).toContain("The URL holds a secret API key");
    expect(reply.text).not.toContain(live);
  }
  // Sent with an Idempotency-Key, the refusal is not recorded.
  const post = await call("POST", `/orders?api_key=${live}`, {
    key: live,
    headers: { "idempotency-key": "secret-in-url-1" },
    body: {},
  });
  expect(post.status).toBe(400);
  expect(upstream.calls).toHaveLength(0);
  expect((await order(call, live, "secret-in-url-1")).status).toBe(201);
  upstream.calls.length = 0;
  for (const url of [`/links/${generateKey("pk", "live")}`, `/links?ref=${look}`]) {
    expect((await call("GET", url, { key: live })).status).toBe(200);
  }
  expect(upstream.calls).toHaveLength(2);
});

test("a gateway route reads its streamed body itself, after authentication: no key is 401, not 413", async () => {
  const { app } = gatewayApp({ max_body_bytes: 1024 });
  const response = await app.handle(
    chunkedPost("http://localhost/links", { "content-type": "application/octet-stream" }, [
      new Uint8Array(4096),
    ]),
  );
  expect(response.status).toBe(401);
  expect(upstream.calls).toHaveLength(0);
});

test("any route: a body read for its Idempotency-Key is refused past the limit", async () => {
  const { call, live } = gatewayApp({ max_body_bytes: 64 });
  const reply = await call("POST", "/v1/api-keys", {
    key: live,
    headers: { "idempotency-key": "big-body-0001" },
    body: { name: "x".repeat(100), scopes: ["links:read"] },
  });
  expect(reply.status).toBe(413);
  expect(codeOf(reply)).toBe("request_too_large");
});

describe("the access log and the metrics", () => {
  test("record the status the client got: the upstream's, a replay's, a first idempotent answer's", async () => {
    const { call, live, accessLog } = testApp({
      env: { KEYGATE_METRICS_TOKEN: "metrics-token-0123456789" },
      config: { gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES } },
    });
    upstream.answer(({ method }) =>
      method === "GET"
        ? new Response("gone", { status: 410 })
        : new Response("{}", { status: 202 }),
    );
    try {
      expect((await call("GET", "/links", { key: live })).status).toBe(410);
      const send = () => order(call, live, "logged-00001", { a: 1 });
      expect((await send()).status).toBe(202);
      expect((await send()).status).toBe(202);
    } finally {
      upstream.answer(echo);
    }
    for (let waited = 0; accessLog.length < 3 && waited < 2000; waited += 10) await Bun.sleep(10);
    expect(accessLog.map((entry) => [entry.method, entry.path, entry.status])).toEqual([
      ["GET", "/links", 410],
      ["POST", "/orders", 202],
      ["POST", "/orders", 202],
    ]);
    const metrics = await call("GET", "/metrics", {
      headers: { authorization: "Bearer metrics-token-0123456789" },
    });
    expect(metrics.text).toContain(
      'keygate_requests_total{method="GET",route="/links",status="410"} 1',
    );
    expect(metrics.text).toContain(
      'keygate_requests_total{method="POST",route="/orders",status="202"} 2',
    );
    // The upstream's latency, by route: the replay never went upstream.
    expect(metrics.text).toContain('keygate_upstream_duration_seconds_count{route="/links"} 1');
    expect(metrics.text).toContain('keygate_upstream_duration_seconds_count{route="/orders"} 1');
  });

  test("the upstream's latency is measured to its response head, in the route's histogram", async () => {
    const { call, live } = testApp({
      env: { KEYGATE_METRICS_TOKEN: "metrics-token-0123456789" },
      config: { gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES } },
    });
    upstream.answer(async () => {
      await Bun.sleep(30);
      return Response.json({});
    });
    try {
      expect((await call("GET", "/links/lnk_1", { key: live })).status).toBe(200);
    } finally {
      upstream.answer(echo);
    }
    const { text } = await call("GET", "/metrics", {
      headers: { authorization: "Bearer metrics-token-0123456789" },
    });
    const series = (name: string) =>
      Number(
        text
          .split("\n")
          .find((line) => line.startsWith(`${name} `))
          ?.split(" ")[1],
      );
    const route = 'route="/links/:id"';
    // It slept 30 ms: nothing at or under 25 ms, all of it by +Inf, a sum of 30 ms or more.
    expect(series(`keygate_upstream_duration_seconds_bucket{${route},le="0.025"}`)).toBe(0);
    expect(series(`keygate_upstream_duration_seconds_bucket{${route},le="+Inf"}`)).toBe(1);
    expect(series(`keygate_upstream_duration_seconds_sum{${route}}`)).toBeGreaterThanOrEqual(0.03);
  });
});

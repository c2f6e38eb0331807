/**
 * Gateway mode (SPEC §7, issue 6): configured routes are authenticated, scope-checked,
 * entity-selected, rate-limited and made idempotent, then proxied to a stub upstream that
 * records what it receives.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rememberPeer } from "../../src/http/peer-address.ts";
import { chunkedPost, codeOf, readReply, testAppPerTest } from "../support/http.ts";
import { selfSignedCertificate } from "../support/tls.ts";
import { answerWithOwnIdsAndLimits, echo, startUpstream } from "../support/upstream.ts";

const upstream = startUpstream();
afterAll(() => upstream.stop());
const testApp = testAppPerTest();

const routes = [
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

/** POST /orders (its Idempotency-Key required) with `idempotencyKey`, as the platform key. */
function order(
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

/** A 201 JSON answer whose body starts, then does what `then` says: break off, stall… */
function startedAnswer(
  then: (controller: ReadableStreamDefaultController<Uint8Array>) => void,
  onCancel?: () => void,
) {
  return () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"order":'));
          then(controller);
        },
        cancel: onCancel,
      }),
      { status: 201, headers: { "content-type": "application/json" } },
    );
}

function gatewayApp(gateway: object = {}) {
  const app = testApp({ config: { gateway: { upstream: upstream.url, routes, ...gateway } } });
  upstream.calls.length = 0;
  return app;
}

describe("proxying", () => {
  test("X-Forwarded-Proto: the scheme the client used — a trusted proxy's word for it, never a client's", async () => {
    const { app, live } = gatewayApp();
    const protoSeen = async (url: string, headers: Record<string, string>, peer?: string) => {
      const request = new Request(url, {
        headers: { authorization: `Bearer ${live}`, ...headers },
      });
      if (peer) rememberPeer(request, peer);
      upstream.calls.length = 0;
      expect((await app.handle(request)).status).toBe(200);
      return upstream.calls[0]?.headers.get("x-forwarded-proto");
    };
    // Keygate serving TLS itself, or plain HTTP.
    expect(await protoSeen("https://localhost/links", {})).toBe("https");
    expect(await protoSeen("http://localhost/links", {})).toBe("http");
    // A client cannot claim a scheme it did not use,
    expect(
      await protoSeen("http://localhost/links", { "x-forwarded-proto": "https" }, "203.0.113.9"),
    ).toBe("http");
    // but the TLS proxy in front of Keygate (a trusted one: loopback by default) can say so.
    expect(
      await protoSeen("http://localhost/links", { "x-forwarded-proto": "https" }, "127.0.0.1"),
    ).toBe("https");
    expect(
      await protoSeen("http://localhost/links", { "x-forwarded-proto": "gopher" }, "127.0.0.1"),
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
          gateway: { upstream: upstream.url, routes },
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
      config: { gateway: { upstream: upstream.url, routes } },
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
  });
});

describe("upstream failures", () => {
  test("unreachable: 502 in the envelope, never recorded — the retry is sent again", async () => {
    const { call, live, internalErrors } = testApp({
      config: { gateway: { upstream: "http://127.0.0.1:9", routes } },
    });
    const send = () => order(call, live, "down-00001");
    const first = await send();
    expect(first.status).toBe(502);
    expect(codeOf(first)).toBe("upstream_unreachable");
    expect(first.body.error.type).toBe("api_error");
    expect(first.body.error.message).toBe(
      "The upstream service could not be reached; the request was not delivered.",
    );
    const retry = await send();
    expect(retry.status).toBe(502);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    // The operator's report says why.
    expect(String((internalErrors[0] as Error).cause)).toContain("Unable to connect");
  });

  test("an HTTPS upstream whose certificate is not trusted: 502 'not delivered' (the handshake failed first), the reason reported", async () => {
    const { cert, key } = selfSignedCertificate();
    const tls = Bun.serve({ port: 0, tls: { cert, key }, fetch: () => Response.json({}) });
    try {
      const { call, live, internalErrors } = testApp({
        config: { gateway: { upstream: `https://127.0.0.1:${tls.port}`, routes } },
      });
      const reply = await order(call, live, "tls-refused-01");
      expect([reply.status, codeOf(reply)]).toEqual([502, "upstream_unreachable"]);
      expect(reply.body.error.message).toContain("the request was not delivered");
      expect(String((internalErrors[0] as Error).cause)).toContain("self signed certificate");
    } finally {
      tls.stop(true);
    }
  });

  test("an answer that breaks off mid-body, on a recorded request: 502 'may have taken effect', not recorded — the retry goes upstream again", async () => {
    const { call, live, internalErrors } = gatewayApp();
    upstream.answer(
      startedAnswer((controller) =>
        setTimeout(() => controller.error(new Error("upstream crashed")), 10),
      ),
    );
    try {
      const send = () => order(call, live, "broken-off-01");
      const first = await send();
      expect([first.status, codeOf(first)]).toEqual([502, "upstream_unreachable"]);
      expect(first.body.error.message).toContain("may have taken effect");
      upstream.answer(echo);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(upstream.calls.map((c) => c.headers.get("idempotency-key"))).toEqual([
        "broken-off-01",
        "broken-off-01",
      ]);
      // Reported for the operator as the upstream's failure, with its cause.
      expect(internalErrors.map((e) => (e as Error).cause)).toHaveLength(1);
    } finally {
      upstream.answer(echo);
    }
  });

  test("an answer whose body stalls, on a recorded request: cut after the timeout, 504 not recorded — the key is not held 'in use'", async () => {
    const { call, live } = gatewayApp({ timeout_seconds: 0.2 });
    let cancelled = false;
    // …and nothing more after its start, for as long as the connection stays open.
    upstream.answer(
      startedAnswer(
        () => {},
        () => {
          cancelled = true;
        },
      ),
    );
    try {
      const send = () => order(call, live, "stalled-body-1");
      const first = await send();
      expect([first.status, codeOf(first)]).toEqual([504, "upstream_timeout"]);
      upstream.answer(echo);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(upstream.calls).toHaveLength(2);
      // The stalled stream was not left open behind the answer.
      for (let i = 0; i < 50 && !cancelled; i++) await Bun.sleep(10);
      expect(cancelled).toBe(true);
    } finally {
      upstream.answer(echo);
    }
  });

  test("an answer over the recording cap streams to the client as it comes, never held whole; a retry is 409 too large", async () => {
    const cap = 1024;
    const t = testApp({
      config: {
        gateway: { upstream: upstream.url, routes },
        idempotency: { max_response_bytes: cap },
      },
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chunk = new Uint8Array(cap).fill(120); // "xxx…"
    upstream.answer(
      () =>
        new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(chunk);
              controller.enqueue(chunk);
              // The rest only once the client has the answer's head: a gateway that waited for
              // the whole body before answering would wait here for ever.
              await released;
              controller.enqueue(new TextEncoder().encode("end"));
              controller.close();
            },
          }),
          { status: 201, headers: { "content-type": "text/plain" } },
        ),
    );
    try {
      const request = () =>
        t.app.handle(
          new Request("http://localhost/orders", {
            method: "POST",
            headers: {
              authorization: `Bearer ${t.live}`,
              "idempotency-key": "over-the-cap-1",
              "content-type": "application/json",
            },
            body: "{}",
          }),
        );
      const first = await request();
      expect(first.status).toBe(201);
      release();
      const text = await first.text();
      expect(text.length).toBe(2 * cap + 3);
      expect(text.endsWith("end")).toBe(true);
      const retry = await request();
      expect(retry.status).toBe(409);
      const error = ((await retry.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("idempotency_result_too_large");
      expect(error.message).toContain("status 201");
    } finally {
      upstream.answer(echo);
    }
  });

  test("no answer in time: 504 upstream_timeout", async () => {
    const { call, live } = gatewayApp({ timeout_seconds: 0.1 });
    upstream.answer(async () => {
      await Bun.sleep(400);
      return new Response("late");
    });
    try {
      const reply = await call("GET", "/links", { key: live });
      expect(reply.status).toBe(504);
      expect(codeOf(reply)).toBe("upstream_timeout");
    } finally {
      upstream.answer(echo);
    }
  });
});

describe("entity selection (Modulus: partner and merchant keys name the branch)", () => {
  async function tree() {
    const app = gatewayApp();
    const { call, live } = app;
    const make = async (body: object) =>
      (await call("POST", "/v1/entities", { key: live, body })).body;
    const partner = await make({ kind: "partner", name: "P" });
    const merchant = await make({
      kind: "merchant",
      name: "M",
      parent_id: partner.id,
      reference: "M-1",
    });
    const branch = await make({
      kind: "branch",
      name: "B",
      parent_id: merchant.id,
      reference: "BR-001",
    });
    const otherMerchant = await make({ kind: "merchant", name: "O", reference: "M-2" });
    const otherBranch = await make({
      kind: "branch",
      name: "OB",
      parent_id: otherMerchant.id,
      reference: "BR-002",
    });
    const keyFor = async (entity: { id: string }) =>
      (
        await call("POST", "/v1/api-keys", {
          key: live,
          body: { name: "k", scopes: ["*"], entity_id: entity.id },
        })
      ).body.secret as string;
    return {
      ...app,
      partner,
      merchant,
      branch,
      otherBranch,
      partnerKey: await keyFor(partner),
      branchKey: await keyFor(branch),
    };
  }
  const checkout = (body: unknown, key: string, idem = crypto.randomUUID()) => ({
    key,
    headers: { "idempotency-key": idem },
    body,
  });

  test("from a body field by reference: missing 400, outside 403, inside proxied as that branch", async () => {
    const { call, partnerKey, branch, partner, merchant } = await tree();
    // A JSON string body is sent as it is: '"BR-001"'.
    for (const body of [{ amount: 1 }, [{ branch_ref: "BR-001" }], '"BR-001"']) {
      const missing = await call("POST", "/checkout", checkout(body, partnerKey));
      expect([missing.status, missing.body.error.param, missing.body.error.message]).toEqual([
        400,
        "branch_ref",
        "branch_ref: required for an API key above the branch level; name the entity to act for as a member of the body's JSON object.",
      ]);
    }
    const outside = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-002" }, partnerKey),
    );
    expect(outside.status).toBe(403);
    expect(codeOf(outside)).toBe("entity_forbidden");
    const notABranch = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "M-1" }, partnerKey),
    );
    expect(notABranch.status).toBe(400);
    expect(upstream.calls).toHaveLength(0);
    const inside = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-001" }, partnerKey),
    );
    expect(inside.status).toBe(201);
    const h = upstream.calls[0]?.headers as Headers;
    expect(h.get("x-keygate-entity-id")).toBe(branch.id);
    expect(h.get("x-keygate-entity-path")).toBe(branch.path.join("/"));
    expect(branch.path).toEqual(expect.arrayContaining([partner.id, merchant.id, branch.id]));
    expect(upstream.calls[0]?.body).toBe(JSON.stringify({ amount: 1, branch_ref: "BR-001" }));
  });

  test("a body the field cannot be read from: not JSON, not UTF-8, the field named twice — 400; compressed — 415; nothing proxied", async () => {
    const { app, partnerKey } = await tree();
    const post = async (body: Uint8Array, headers: Record<string, string> = {}) =>
      readReply(
        await app.handle(
          new Request("http://localhost/checkout", {
            method: "POST",
            headers: {
              authorization: `Bearer ${partnerKey}`,
              "content-type": "application/json",
              "idempotency-key": crypto.randomUUID(),
              ...headers,
            },
            body,
          }),
        ),
      );
    const notJson = await post(new TextEncoder().encode("branch_ref=BR-001"));
    expect([notJson.status, notJson.body.error.message]).toEqual([
      400,
      "The body is not valid JSON.",
    ]);
    // "BR-001é" in Latin-1: read leniently, it would look for a reference ending in U+FFFD.
    const latin1 = Uint8Array.from([
      ...new TextEncoder().encode('{"branch_ref":"BR-001'),
      0xe9,
      ...new TextEncoder().encode('"}'),
    ]);
    const notUtf8 = await post(latin1);
    expect(notUtf8.status).toBe(400);
    expect(notUtf8.body.error.message).toStartWith("The body is not UTF-8 text");
    // Named twice: Keygate (reading the last) would authorise BR-001, inside the key's subtree,
    // while an upstream reading the first acted for BR-002, outside it.
    const twice = await post(
      new TextEncoder().encode('{"branch_ref":"BR-002","amount":1,"branch_ref":"BR-001"}'),
    );
    expect([twice.status, twice.body.error.param]).toEqual([400, "branch_ref"]);
    expect(twice.body.error.message).toStartWith("branch_ref is given twice in its object");
    // Compressed: Keygate does not decompress what it must read; it says so, not "not UTF-8".
    const gzipped = Bun.gzipSync(new TextEncoder().encode('{"branch_ref":"BR-001"}'));
    const compressed = await post(gzipped, { "content-encoding": "gzip" });
    expect([compressed.status, codeOf(compressed)]).toEqual([415, "unsupported_content_encoding"]);
    expect(compressed.headers.get("accept-encoding")).toBe("identity");
    expect(upstream.calls).toHaveLength(0);
  });

  test("a branch given a new reference is selected by the new one at once, and no longer by the old", async () => {
    const { call, live, partnerKey, branch } = await tree();
    const renumbered = await call("PATCH", `/v1/entities/${branch.id}`, {
      key: live,
      body: { reference: "BR-101" },
    });
    expect(renumbered.body.reference).toBe("BR-101");
    const byOld = await call("POST", "/checkout", checkout({ branch_ref: "BR-001" }, partnerKey));
    expect([byOld.status, upstream.calls]).toEqual([403, []]);
    const byNew = await call("POST", "/checkout", checkout({ branch_ref: "BR-101" }, partnerKey));
    expect(byNew.status).toBe(201);
    expect(upstream.calls[0]?.headers.get("x-keygate-entity-id")).toBe(branch.id);
  });

  test("a branch key may omit it and acts for its own branch; it cannot name a sibling", async () => {
    const { call, branchKey, branch } = await tree();
    const own = await call("POST", "/checkout", checkout({ amount: 1 }, branchKey));
    expect(own.status).toBe(201);
    expect(upstream.calls[0]?.headers.get("x-keygate-entity-id")).toBe(branch.id);
    const sibling = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-002" }, branchKey),
    );
    expect(codeOf(sibling)).toBe("entity_forbidden");
  });

  test("from a header, a path parameter or a query parameter, by id", async () => {
    const { call, partnerKey, branch, merchant, otherBranch } = await tree();
    expect(
      (
        await call("GET", "/reports", {
          key: partnerKey,
          headers: { "x-merchant-id": merchant.id },
        })
      ).status,
    ).toBe(200);
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(merchant.id);
    expect((await call("GET", `/branches/${branch.id}/summary`, { key: partnerKey })).status).toBe(
      200,
    );
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(branch.id);
    expect((await call("GET", `/sales?merchant=${merchant.id}`, { key: partnerKey })).status).toBe(
      200,
    );
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(merchant.id);
    const outside = await call("GET", `/branches/${otherBranch.id}/summary`, { key: partnerKey });
    expect(codeOf(outside)).toBe("entity_forbidden");
    const nonexistent = await call("GET", "/sales?merchant=ent_nope", { key: partnerKey });
    expect(codeOf(nonexistent)).toBe("entity_forbidden");
    expect(upstream.calls).toHaveLength(3);
  });

  test("Idempotency-Key: the same key and body for another entity (named in a header) is another request — 409, never the first one's result", async () => {
    const { call, partnerKey, branchKey, merchant, branch } = await tree();
    const payout = (key: string, entity?: string) =>
      call("POST", "/payouts", {
        key,
        headers: { "idempotency-key": "order-12345", ...(entity && { "x-merchant-id": entity }) },
        body: { amount: 100 },
      });
    expect((await payout(partnerKey, merchant.id)).status).toBe(201);
    const forBranch = await payout(partnerKey, branch.id);
    expect([forBranch.status, codeOf(forBranch)]).toEqual([409, "idempotency_mismatch"]);
    const retry = await payout(partnerKey, merchant.id);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.calls.map((c) => c.headers.get("x-keygate-entity-id"))).toEqual([merchant.id]);
    // A branch key naming its own branch, or not naming it, sends one and the same request.
    expect((await payout(branchKey)).status).toBe(201);
    const named = await payout(branchKey, branch.id);
    expect(named.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.calls).toHaveLength(2);
  });

  test("an ambiguous selection is refused before anything is looked up: a query parameter given twice or under a name the upstream may bind to it, a body member in another case, a header in another spelling, a path parameter badly encoded", async () => {
    const { call, partnerKey, branchKey, merchant, internalErrors } = await tree();
    // In another case, beside the field or instead of it: an upstream binding names without
    // regard to case could act for ent_theirs, or for BR-009, while Keygate judged another.
    // So are the array forms PHP, Rails and Express's qs bind to the same name.
    for (const query of [
      `merchant=${merchant.id}&MERCHANT=ent_theirs`,
      "Merchant=ent_theirs",
      `merchant=${merchant.id}&merchant%5B%5D=ent_theirs`,
      `merchant=${merchant.id}&merchant[0]=ent_theirs`,
      "merchant[=ent_theirs",
    ]) {
      const variant = await call("GET", `/sales?${query}`, { key: partnerKey });
      expect([query, variant.status, codeOf(variant)]).toEqual([query, 400, "invalid_request"]);
      expect(variant.body.error.message).toContain("an upstream may read it as merchant");
    }
    // A header with _ for -: one name to servers that read headers as CGI variables.
    const underscored = await call("GET", "/reports", {
      key: partnerKey,
      headers: { "x-merchant-id": merchant.id, X_Merchant_Id: "ent_theirs" },
    });
    expect([underscored.status, codeOf(underscored), underscored.body.error.param]).toEqual([
      400,
      "invalid_request",
      "x_merchant_id",
    ]);
    // And the other way round, for a selector named with underscores.
    const dashes = await call("GET", "/ledger", {
      key: partnerKey,
      headers: { "X-Merchant": "ent_theirs" },
    });
    expect([dashes.status, codeOf(dashes), dashes.body.error.param]).toEqual([
      400,
      "invalid_request",
      "x-merchant",
    ]);
    const member = await call("POST", "/checkout", checkout({ Branch_Ref: "BR-009" }, branchKey));
    expect([member.status, codeOf(member), member.body.error.param]).toEqual([
      400,
      "invalid_request",
      "Branch_Ref",
    ]);
    const twice = await call("GET", `/sales?merchant=${merchant.id}&merchant=ent_theirs`, {
      key: partnerKey,
    });
    expect([twice.status, codeOf(twice), twice.body.error.param]).toEqual([
      400,
      "invalid_request",
      "merchant",
    ]);
    const encoded = await call("GET", "/branches/%E0%A4%A/summary", { key: partnerKey });
    expect([encoded.status, codeOf(encoded), encoded.body.error.param]).toEqual([
      400,
      "invalid_request",
      "branch",
    ]);
    expect(internalErrors).toEqual([]);
    expect(upstream.calls).toHaveLength(0);
    // A name that only starts the same is another parameter.
    const other = await call("GET", `/sales?merchant=${merchant.id}&merchants=1`, {
      key: partnerKey,
    });
    expect(other.status).toBe(200);
  });

  test("an inactive target entity is refused", async () => {
    const { call, live, partnerKey, branch } = await tree();
    await call("POST", `/v1/entities/${branch.id}/deactivate`, { key: live });
    const reply = await call("POST", "/checkout", checkout({ branch_ref: "BR-001" }, partnerKey));
    expect(codeOf(reply)).toBe("entity_forbidden");
    expect(upstream.calls).toHaveLength(0);
  });
});

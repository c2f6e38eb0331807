/**
 * `GET /v1/forward-auth` in process: the original method and URI pick the gateway route; the
 * answer is 200 with the identity headers, or the error with its envelope in a header too.
 * (test/e2e/nginx-forward-auth.test.ts and caddy-forward-auth.test.ts run it behind a real nginx
 * and a real Caddy.)
 */
import { describe, expect, test } from "bun:test";
import { addressList } from "../../src/config/address-list.ts";
import { clientAddressOf, UNKNOWN_ADDRESS } from "../../src/http/peer-address.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { mayScrape } from "../../src/metrics/index.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { startUpstream } from "../support/upstream.ts";

const LOOPBACK_ONLY = addressList(["127.0.0.1"]);

const testApp = testAppPerTest();
const gateway = {
  routes: [
    { method: "GET", path: "/public/*" },
    { method: "GET", path: "/links/:id", scopes: ["links:read"] },
    {
      method: "POST",
      path: "/links",
      scopes: ["links:write"],
      rate_limit: { limit: 1, window_seconds: 60 },
    },
    { method: "GET", path: "/reports", entity: { from: "query", name: "merchant" } },
    { method: "POST", path: "/checkout", entity: { from: "body", name: "branch_ref" } },
  ],
};
const ask = (method: string, uri: string, extra: Record<string, string> = {}) => ({
  headers: { "x-original-method": method, "x-original-uri": uri, ...extra },
});

describe("forward-auth", () => {
  test("allowed: 200 with the identity and rate-limit headers; the route is the original request's", async () => {
    const { call, live, platform } = testApp({ config: { gateway } });
    const reply = await call("GET", "/v1/forward-auth", {
      key: live,
      ...ask("GET", "/links/lnk_1?x=1"),
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-keygate-key-id")).toMatch(/^key_/);
    expect(reply.headers.get("x-keygate-entity-id")).toBe(platform);
    expect(reply.headers.get("x-keygate-livemode")).toBe("true");
    expect(reply.headers.get("x-keygate-scopes")).toBe("*");
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
  });

  test("an original HEAD is judged as its GET route: its scopes and its limits", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const head = await call("GET", "/v1/forward-auth", {
      key: live,
      ...ask("HEAD", "/links/lnk_1"),
    });
    expect(head.status).toBe(200);
    const unrouted = await call("GET", "/v1/forward-auth", {
      key: live,
      ...ask("HEAD", "/nowhere"),
    });
    expect(unrouted.status).toBe(404);
  });

  test("a query repeated in the original URI, or on forward-auth's own URL, is the upstream's business", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const reply = await call("GET", "/v1/forward-auth?tag=a&tag=b", {
      key: live,
      ...ask("GET", "/links/lnk_1?tag=a&tag=b"),
    });
    expect(reply.status).toBe(200);
  });

  test("refused: the status, the envelope, and the envelope again in X-Keygate-Error", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const missing = await call("GET", "/v1/forward-auth", ask("GET", "/links/lnk_1"));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.headers.get("x-keygate-error") as string)).toEqual(missing.body);
    const reader = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "r", scopes: ["links:read"] },
    });
    const denied = await call("GET", "/v1/forward-auth", {
      key: reader.body.secret,
      ...ask("POST", "/links"),
    });
    expect(denied.status).toBe(403);
    expect(codeOf(denied)).toBe("insufficient_scope");
    const unrouted = await call("GET", "/v1/forward-auth", {
      key: live,
      ...ask("GET", "/elsewhere"),
    });
    expect(unrouted.status).toBe(404);
    const noOriginal = await call("GET", "/v1/forward-auth", { key: live });
    expect([noOriginal.status, noOriginal.body.error.message]).toEqual([
      400,
      "Forward-auth needs the original request: X-Original-Method and X-Original-URI (or X-Forwarded-Method and X-Forwarded-Uri).",
    ]);
    for (const uri of ["http://upstream.example/links/lnk_1", "links/lnk_1"]) {
      const notAPath = await call("GET", "/v1/forward-auth", { key: live, ...ask("GET", uri) });
      expect([notAPath.status, notAPath.body.error.param, notAPath.body.error.message]).toEqual([
        400,
        "X-Original-URI",
        "The original URI must be the request's path, starting with / (as nginx's $request_uri is), not a full URL or a relative path.",
      ]);
    }
  });

  test("a route that selects its entity from the body says forward-auth cannot see it, rather than that the field is missing", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const reply = await call("GET", "/v1/forward-auth", { key: live, ...ask("POST", "/checkout") });
    expect([reply.status, reply.body.error.param, reply.body.error.message]).toEqual([
      400,
      "branch_ref",
      "branch_ref: this route names the entity to act for in the request body, which forward-auth never sees; send the request through the gateway, or name the entity in a header.",
    ]);
  });

  test("the original route's rate limit applies: 429 with Retry-After", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const first = await call("GET", "/v1/forward-auth", { key: live, ...ask("POST", "/links") });
    const second = await call("GET", "/v1/forward-auth", { key: live, ...ask("POST", "/links") });
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(second.headers.get("x-ratelimit-remaining")).toBe("0");
  });

  test("rate_limits.enabled: false holds here as on every other route: no limit, no rate-limit headers", async () => {
    const { call, live } = testApp({ config: { gateway, rate_limits: { enabled: false } } });
    for (let i = 0; i < 3; i++) {
      const reply = await call("GET", "/v1/forward-auth", { key: live, ...ask("POST", "/links") });
      expect(reply.status).toBe(200);
      for (const name of ["x-ratelimit-limit", "ratelimit", "ratelimit-policy"])
        expect(reply.headers.get(name)).toBeNull();
    }
  });

  test("entity selection from the original query; Traefik's X-Forwarded-* headers work too", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const merchant = await call("POST", "/v1/entities", {
      key: live,
      body: { kind: "merchant", name: "M" },
    });
    const reply = await call("GET", "/v1/forward-auth", {
      key: live,
      headers: {
        "x-forwarded-method": "GET",
        "x-forwarded-uri": `/reports?merchant=${merchant.body.id}`,
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-keygate-entity-id")).toBe(merchant.body.id);
    const outside = await call("GET", "/v1/forward-auth", {
      key: live,
      ...ask("GET", "/reports?merchant=ent_unknown"),
    });
    expect(codeOf(outside)).toBe("entity_forbidden");
  });

  test("the original request named by both nginx's and Traefik's headers is refused: one pair came from the client", async () => {
    // Behind Caddy or Traefik, which set X-Forwarded-* and pass the client's headers on, a
    // reader's own X-Original-* would otherwise be judged in place of the POST it sends.
    const { call, live } = testApp({ config: { gateway } });
    const reader = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "reader", scopes: ["links:read"] },
    });
    const key = reader.body.secret as string;
    const forwarded = { "x-forwarded-method": "POST", "x-forwarded-uri": "/links" };
    expect((await call("GET", "/v1/forward-auth", { key, headers: forwarded })).status).toBe(403);
    for (const forged of [
      { "x-original-method": "GET", "x-original-uri": "/links/lnk_1" } as Record<string, string>,
      { "x-original-uri": "/links/lnk_1" },
      { "x-original-method": "GET" },
    ]) {
      const reply = await call("GET", "/v1/forward-auth", {
        key,
        headers: { ...forwarded, ...forged },
      });
      expect([reply.status, codeOf(reply)]).toEqual([400, "invalid_request"]);
      expect(reply.body.error.message).toContain("named twice");
    }
    // And the other way round, behind nginx: a client's X-Forwarded-Uri beside nginx's pair.
    const nginxWithForged = await call("GET", "/v1/forward-auth", {
      key,
      ...ask("GET", "/links/lnk_1", { "x-forwarded-uri": "/links" }),
    });
    expect(nginxWithForged.status).toBe(400);
    // A path refused is named by the header it came in.
    const viaTraefik = await call("GET", "/v1/forward-auth", {
      key,
      headers: { "x-forwarded-method": "GET", "x-forwarded-uri": "/links/%6Cnk_1" },
    });
    expect([viaTraefik.status, viaTraefik.body.error.param]).toEqual([400, "X-Forwarded-Uri"]);
  });

  test("a path an upstream could read differently (dot or empty segments, backslashes, path parameters, needless or double encodings) is refused, not guessed at", async () => {
    const { call, live } = testApp({ config: { gateway } });
    for (const plain of [
      "/public/x",
      "/public/x?next=/a/../b;c=%61",
      "/public/a.b",
      "/public/..x",
      "/public/a%20b",
    ])
      expect(
        (await call("GET", "/v1/forward-auth", { key: live, ...ask("GET", plain) })).status,
      ).toBe(200);
    for (const uri of [
      "/public/../admin",
      "/public/%2e%2e/admin",
      "/public/./../admin?x=1",
      "/admin/%2E%2E/public/x",
      "//admin/public/x",
      "/public//x",
      "/admin\\..\\public/x",
      "/admin%2fpublic/x",
      "/public/x/.",
      "/%61dmin/x",
      "/public/x;jsessionid=1",
      "/public/..;/admin",
      "/public/%252e%252e/admin",
      "/admin/x#",
    ]) {
      const reply = await call("GET", "/v1/forward-auth", { key: live, ...ask("GET", uri) });
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        "X-Original-URI",
      ]);
      expect(reply.headers.get("x-keygate-key-id")).toBeNull();
    }
  });

  test("an original request claiming another method, path or identity (X-HTTP-Method-Override, _method, X-Original-URL, X_Keygate_*) is refused: the upstream might act on it", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const asked = (uri: string, headers: Record<string, string> = {}) =>
      call("GET", "/v1/forward-auth", { key: live, ...ask("POST", uri, headers) });
    expect((await asked("/links")).status).toBe(200);
    for (const [reply, param] of [
      [await asked("/links", { "x-http-method-override": "DELETE" }), "x-http-method-override"],
      [await asked("/links?_method=DELETE"), "_method"],
      [await asked("/links", { "x-original-url": "/admin" }), "x-original-url"],
      // Behind forward-auth the proxy passes it on: refused, where the gateway drops it.
      [await asked("/links", { X_Keygate_Entity_Id: "ent_forged" }), "x_keygate_entity_id"],
    ] as const) {
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        param,
      ]);
      expect(reply.headers.get("x-keygate-key-id")).toBeNull();
    }
  });

  test("an original URI holding a secret key is refused, so the proxy does not forward it; nginx never sees the key", async () => {
    const { call, live } = testApp({ config: { gateway } });
    const asked = (uri: string) =>
      call("GET", "/v1/forward-auth", { key: live, ...ask("GET", uri) });
    expect((await asked(`/links/${generateKey("pk", "live")}`)).status).toBe(200);
    for (const uri of [`/links/lnk_1?api_key=${live}`, `/links/${generateKey("sk", "test")}`]) {
      const reply = await asked(uri);
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        "X-Original-URI",
      ]);
      expect(reply.headers.get("x-keygate-error")).not.toContain(live);
      expect(reply.headers.get("x-keygate-key-id")).toBeNull();
    }
  });

  test("a request is judged by the route the gateway serves it with, not the first pattern listed that matches", async () => {
    const upstream = startUpstream();
    try {
      const overlapping = {
        upstream: upstream.url,
        routes: [
          { method: "GET", path: "/accounts/:id", scopes: ["accounts:read"] },
          { method: "GET", path: "/accounts/export", scopes: ["exports:read"] },
          { method: "GET", path: "/files/:name/raw", scopes: ["files:read"] },
          { method: "GET", path: "/files/private/*", scopes: ["private:read"] },
          // A HEAD pattern of its own yields to a GET route that matches: the router tries that first.
          { method: "HEAD", path: "/reports/:id", scopes: ["files:read"] },
          { method: "GET", path: "/reports/:id/*", scopes: ["reports:read"] },
        ],
      };
      const { call, live } = testApp({ config: { gateway: overlapping } });
      const reader = await call("POST", "/v1/api-keys", {
        key: live,
        body: { name: "reader", scopes: ["accounts:read", "files:read"] },
      });
      const key = reader.body.secret as string;
      for (const [method, path, status, missing] of [
        ["GET", "/accounts/acc_1", 200, ""],
        ["GET", "/accounts/export", 403, "exports:read"],
        ["GET", "/accounts/export/", 403, "exports:read"],
        ["GET", "/files/report/raw", 200, ""],
        ["GET", "/files/private/raw", 403, "private:read"],
        ["HEAD", "/reports/rep_1", 200, ""],
        ["HEAD", "/reports/rep_1/", 403, "reports:read"],
      ] as const) {
        const asked = await call("GET", "/v1/forward-auth", { key, ...ask(method, path) });
        const served = await call(method, path, { key });
        expect([method, path, asked.status, served.status]).toEqual([method, path, status, status]);
        if (status === 403) expect(asked.body.error.message).toContain(missing);
      }
    } finally {
      upstream.stop();
    }
  });

  test("with no gateway routes, any valid key passes for any request", async () => {
    const { call, live } = testApp();
    expect(
      (await call("GET", "/v1/forward-auth", { key: live, ...ask("DELETE", "/x/y") })).status,
    ).toBe(200);
  });

  test("the client address comes from X-Real-IP / X-Forwarded-For only through a trusted proxy", () => {
    const headers = new Headers({ "x-forwarded-for": "10.0.0.1, 10.0.0.2" });
    expect(clientAddressOf("127.0.0.1", headers, LOOPBACK_ONLY)).toBe("10.0.0.2");
    expect(clientAddressOf("203.0.113.9", headers, LOOPBACK_ONLY)).toBe("203.0.113.9");
    expect(
      clientAddressOf("127.0.0.1", new Headers({ "x-real-ip": "10.1.1.1" }), LOOPBACK_ONLY),
    ).toBe("10.1.1.1");
    // Both, agreeing (Traefik; nginx told to set both): that address.
    const agreeing = new Headers({
      "x-real-ip": "10.1.1.1",
      "x-forwarded-for": "10.9.9.9, 10.1.1.1",
    });
    expect(clientAddressOf("127.0.0.1", agreeing, LOOPBACK_ONLY)).toBe("10.1.1.1");
  });

  test("a trusted proxy may be given as a range (proxies whose addresses change), and is matched as an address", () => {
    const headers = new Headers({ "x-real-ip": "203.0.113.9" });
    const fleet = addressList(["10.0.0.0/8"]);
    expect(clientAddressOf("10.1.2.3", headers, fleet)).toBe("203.0.113.9");
    expect(clientAddressOf("::ffff:10.1.2.3", headers, fleet)).toBe("203.0.113.9");
    expect(clientAddressOf("11.1.2.3", headers, fleet)).toBe("11.1.2.3");
  });

  test("X-Real-IP and X-Forwarded-For that disagree make the client unknown: one of them is the client's own", () => {
    // Behind Caddy, which appends to X-Forwarded-For and passes X-Real-IP on as received, a
    // client could otherwise choose its address: loopback, for the metrics; another per guess.
    const caddy = new Headers({ "x-real-ip": "127.0.0.1", "x-forwarded-for": "203.0.113.9" });
    expect(clientAddressOf("127.0.0.1", caddy, LOOPBACK_ONLY)).toBe(UNKNOWN_ADDRESS);
    // Behind nginx, which sets X-Real-IP and passes X-Forwarded-For on as received: the same.
    const nginx = new Headers({ "x-real-ip": "203.0.113.9", "x-forwarded-for": "127.0.0.1" });
    expect(clientAddressOf("127.0.0.1", nginx, LOOPBACK_ONLY)).toBe(UNKNOWN_ADDRESS);
    expect(
      mayScrape(
        { enabled: true, allow: addressList(["0.0.0.0/0", "::/0"]), token: undefined },
        UNKNOWN_ADDRESS,
        null,
      ),
    ).toBe(false);
  });
});

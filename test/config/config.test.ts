import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/config.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { tempDir, errorOf as thrown } from "../support/keygate.ts";

const tmp = tempDir();
afterAll(tmp.remove);
function file(name: string, content: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, content);
  return path;
}
function errorOf(env: Record<string, string>): string {
  return thrown(() => loadConfig(env), ConfigError).message;
}

describe("configuration", () => {
  test("defaults: port 3000, ./data/keygate.sqlite, sk/pk prefixes, normal durability, no pepper, every scheme on", () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: "0.0.0.0",
      idleTimeoutSeconds: 30,
      tls: undefined,
      dbPath: "./data/keygate.sqlite",
      durability: "normal",
      keys: { secretPrefix: "sk", publicPrefix: "pk", pepper: undefined },
      auth: { bearer: true, apiKeyHeader: "X-Api-Key", basic: true, jwt: true },
      rateLimits: {
        enabled: true,
        default: { name: "default", limit: 100, windowSeconds: 1, algorithm: "fixed" },
        routes: [],
      },
      idempotency: {
        enabled: true,
        methods: ["POST"],
        keyPattern: /^[A-Za-z0-9._-]{8,64}$/,
        ttlSeconds: 86400,
        mismatchStatus: 409,
        recordServerErrors: true,
        maxResponseBytes: 1024 * 1024,
        required: [],
      },
      resultsKey: undefined,
      jwtSecret: undefined,
      errorCodes: {},
      gateway: {
        upstream: undefined,
        timeoutMs: 30_000,
        maxBodyBytes: 1024 * 1024,
        forwardedFor: false,
        trustedProxies: expect.objectContaining({ entries: ["127.0.0.1", "::1"] }),
        routes: [],
      },
      meAliases: [],
      audit: { checkpointKeyPath: undefined, checkpointIntervalSeconds: 3600 },
      accessLog: true,
      metrics: {
        enabled: true,
        allow: expect.objectContaining({ entries: ["127.0.0.1", "::1"] }),
        token: undefined,
      },
    });
  });

  test("gateway routes add their rate-limit policies and required Idempotency-Keys", () => {
    const path = file(
      "gateway.json",
      JSON.stringify({
        gateway: {
          upstream: "http://127.0.0.1:9/base/",
          routes: [
            {
              method: "post",
              path: "/ecom/v1/checkout",
              scopes: ["checkout:write"],
              idempotency: "required",
              rate_limit: { limit: 60, window_seconds: 60 },
              entity: {
                from: "body",
                name: "merchant_branch_reference_number",
                match: "reference",
              },
            },
            { method: "GET", path: "/ecom/v1/checkout/:id" },
          ],
        },
      }),
    );
    const config = loadConfig({ KEYGATE_CONFIG: path });
    expect(config.gateway.upstream).toBe("http://127.0.0.1:9/base");
    expect(config.gateway.routes).toEqual([
      {
        method: "POST",
        path: "/ecom/v1/checkout",
        scopes: ["checkout:write"],
        entity: { from: "body", name: "merchant_branch_reference_number", match: "reference" },
      },
      { method: "GET", path: "/ecom/v1/checkout/:id", scopes: [], entity: undefined },
    ]);
    expect(config.rateLimits.routes).toEqual([
      {
        name: "POST /ecom/v1/checkout",
        method: "POST",
        path: "/ecom/v1/checkout",
        limit: 60,
        windowSeconds: 60,
        algorithm: "fixed",
        routeOwned: true,
      },
    ]);
    expect(config.idempotency.required).toEqual([
      { method: "POST", path: "/ecom/v1/checkout", routeOwned: true },
    ]);
    expect(
      loadConfig({ KEYGATE_CONFIG: path, KEYGATE_UPSTREAM: "http://up:81" }).gateway.upstream,
    ).toBe("http://up:81");
  });

  test("rate_limits.default: null leaves only keys' own limits and route policies (Modulus)", () => {
    const path = file("no-default.json", JSON.stringify({ rate_limits: { default: null } }));
    expect(loadConfig({ KEYGATE_CONFIG: path }).rateLimits.default).toBeNull();
  });

  test("a gateway route may not shadow Keygate's own routes, nor name a path parameter it lacks", () => {
    const own = file(
      "own.json",
      JSON.stringify({ gateway: { routes: [{ method: "GET", path: "/v1/api-keys/:id" }] } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: own })).toContain("gateway.routes[0].path");
    const param = file(
      "param.json",
      JSON.stringify({
        gateway: {
          routes: [{ method: "GET", path: "/a/:id", entity: { from: "path", name: "ref" } }],
        },
      }),
    );
    expect(errorOf({ KEYGATE_CONFIG: param })).toContain("gateway.routes[0].entity.name");
    // A scope no key can hold (keys are refused "links") and a header no client can send would
    // leave the route refusing every key but `*` ones, or every key above the branch level.
    const route = (extra: object) =>
      file(
        "route.json",
        JSON.stringify({ gateway: { routes: [{ method: "GET", path: "/a", ...extra }] } }),
      );
    expect(errorOf({ KEYGATE_CONFIG: route({ scopes: ["links:read", "links"] }) })).toContain(
      "gateway.routes[0].scopes[1]:",
    );
    expect(
      errorOf({ KEYGATE_CONFIG: route({ entity: { from: "header", name: "x merchant" } }) }),
    ).toBe(
      `KEYGATE_CONFIG ${join(tmp.dir, "route.json")}: gateway.routes[0].entity.name: "x merchant" is not a header name (letters, digits and -, as in X-Merchant-Id)`,
    );
    expect(
      loadConfig({
        KEYGATE_CONFIG: route({
          scopes: ["links:*", "*"],
          entity: { from: "header", name: "X-Merchant-Id" },
        }),
      }).gateway.routes[0]?.scopes,
    ).toEqual(["links:*", "*"]);
    expect(errorOf({ KEYGATE_UPSTREAM: "ftp://x" })).toContain("KEYGATE_UPSTREAM");
    // The request's path is appended to the upstream's: a query or a fragment would swallow it.
    for (const upstream of ["http://api:4000/base?v=1", "http://api:4000#top", "http://api:4000/?"])
      expect(errorOf({ KEYGATE_UPSTREAM: upstream })).toBe(
        `KEYGATE_UPSTREAM: "${upstream}" has a query or a fragment: each request's path and query are appended to the upstream's, so give a base URL without them`,
      );
    const withPassword = errorOf({ KEYGATE_UPSTREAM: "http://svc:hunter2@api:4000" });
    expect(withPassword).toStartWith("KEYGATE_UPSTREAM: holds a user name or password");
    expect(withPassword).not.toContain("hunter2");
    expect(errorOf({ KEYGATE_UPSTREAM: "http://svc:hunter2@api:99999" })).toBe(
      "KEYGATE_UPSTREAM: is not a URL",
    );
    expect(errorOf({ KEYGATE_METRICS_TOKEN: "short" })).toContain("KEYGATE_METRICS_TOKEN");
    expect(errorOf({ KEYGATE_ACCESS_LOG: "yes" })).toContain("KEYGATE_ACCESS_LOG");
  });

  test("an alias of GET /v1/me that is Keygate's own, listed twice, or a gateway route's path stops the start", () => {
    const route = (method: string, path: string) => ({ method, path, scopes: ["orders:read"] });
    for (const [message, config] of [
      ["me_aliases[0]: /v1/events is Keygate's own", { me_aliases: ["/v1/events"] }],
      ["me_aliases[1]: /me is also me_aliases[0]", { me_aliases: ["/me", "/me"] }],
      [
        "me_aliases[0]: /orders is served by gateway.routes[1] (GET /orders)",
        {
          me_aliases: ["/orders"],
          gateway: { routes: [route("POST", "/orders"), route("GET", "/orders")] },
        },
      ],
      [
        "me_aliases[1]: /orders/mine is served by gateway.routes[0] (HEAD /orders/:id)",
        {
          me_aliases: ["/me", "/orders/mine"],
          gateway: { routes: [route("HEAD", "/orders/:id")] },
        },
      ],
      [
        "me_aliases[0]: /me is served by gateway.routes[0] (GET /*)",
        { me_aliases: ["/me"], gateway: { routes: [route("GET", "/*")] } },
      ],
    ] as const) {
      const path = file("aliases.json", JSON.stringify(config));
      expect(errorOf({ KEYGATE_CONFIG: path })).toStartWith(`KEYGATE_CONFIG ${path}: ${message}`);
    }
    // Another method on the alias's path, or a route beside it, leaves the alias alone.
    const fine = file(
      "aliases-fine.json",
      JSON.stringify({
        me_aliases: ["/me"],
        gateway: { routes: [route("POST", "/me"), route("GET", "/orders/:id")] },
      }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: fine }).meAliases).toEqual(["/me"]);
  });

  test("gateway routes one router cannot tell apart stop the start, naming the later route (Elysia would stop it with a stack trace)", () => {
    const routes = (...list: { method: string; path: string }[]) =>
      file("routes.json", JSON.stringify({ gateway: { routes: list } }));
    expect(
      errorOf({
        KEYGATE_CONFIG: routes(
          { method: "GET", path: "/orders" },
          { method: "POST", path: "/orders" },
          { method: "get", path: "/orders/" },
        ),
      }),
    ).toEndWith("gateway.routes[2].path: GET /orders/ is also gateway.routes[0]: list it once");
    expect(
      errorOf({
        KEYGATE_CONFIG: routes(
          { method: "GET", path: "/orders/:id" },
          { method: "GET", path: "/orders/:order/items" },
        ),
      }),
    ).toEndWith(
      "gateway.routes[1].path: /orders/:order/items: :order stands where another GET route has :id; the router tells parameters apart by place, not name: name it :id",
    );
    // Its scopes would never apply: the router answers a HEAD with the GET route first.
    expect(
      errorOf({
        KEYGATE_CONFIG: routes(
          { method: "GET", path: "/orders/*" },
          { method: "head", path: "/orders/:id" },
        ),
      }),
    ).toEndWith(
      "gateway.routes[1].path: HEAD /orders/:id would never serve a request: the router answers a HEAD with a GET route that matches first (GET /orders/*, gateway.routes[0]), and with that route's rules; drop this one or narrow the GET route",
    );
  });

  test("a JWT signing secret too short to resist guessing stops the start", () => {
    // Anyone holding one token could guess a short HS256 key offline, then sign any claims.
    expect(errorOf({ KEYGATE_JWT_SECRET: "secret" })).toContain(
      "KEYGATE_JWT_SECRET: must be at least 32 characters",
    );
    const strong = "k".repeat(32);
    expect(loadConfig({ KEYGATE_JWT_SECRET: strong }).jwtSecret).toBe(strong);
  });

  test("a path variable with white space at its ends is refused, the value shown escaped: KEYGATE_DB with a newline made a second database", () => {
    for (const name of [
      "KEYGATE_DB",
      "KEYGATE_CONFIG",
      "KEYGATE_CHECKPOINT_KEY",
      "KEYGATE_TLS_CERT",
      "KEYGATE_TLS_KEY",
    ])
      expect(errorOf({ [name]: "/srv/keygate/file\n" })).toBe(
        `${name}: "/srv/keygate/file\\n" begins or ends with white space (a line break from a secret or an env file?); no file is meant to be named so: remove it`,
      );
    expect(errorOf({ KEYGATE_DB: " data/k.sqlite" })).toStartWith(
      'KEYGATE_DB: " data/k.sqlite" begins',
    );
    // Inside a path, a space is the operator's to choose.
    expect(loadConfig({ KEYGATE_DB: "/srv/my keygate/k.sqlite" }).dbPath).toBe(
      "/srv/my keygate/k.sqlite",
    );
    expect(errorOf({ KEYGATE_PORT: "4000\n" })).toBe(
      'KEYGATE_PORT: "4000\\n" is not a port number (0–65535)',
    );
  });

  test("a server key or the metrics token given with a trailing newline (a secret made from a file) is the key its file would give", () => {
    const hex = "ab".repeat(32);
    const strong = "k".repeat(32);
    const config = loadConfig({
      KEYGATE_RESULTS_KEY: `${hex}\n`,
      KEYGATE_JWT_SECRET: ` ${strong}\r\n`,
      KEYGATE_METRICS_TOKEN: "metrics-token-0123456789\n",
    });
    expect([config.resultsKey, config.jwtSecret, config.metrics.token]).toEqual([
      hex,
      strong,
      "metrics-token-0123456789",
    ]);
    // Only white space: as if unset.
    expect(loadConfig({ KEYGATE_RESULTS_KEY: "\n" }).resultsKey).toBeUndefined();
  });

  test("credential schemes can be switched off and error codes renamed", () => {
    const path = file(
      "auth.json",
      JSON.stringify({
        auth: { bearer: false, api_key_header: false, jwt: false },
        errors: {
          codes: { api_key_invalid: "invalid_api_key", entity_inactive: "merchant_inactive" },
        },
      }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: path })).toMatchObject({
      auth: { bearer: false, apiKeyHeader: false, basic: true, jwt: false },
      errorCodes: { api_key_invalid: "invalid_api_key", entity_inactive: "merchant_inactive" },
    });
    const header = file("header.json", JSON.stringify({ auth: { api_key_header: "X-Certo-Key" } }));
    expect(loadConfig({ KEYGATE_CONFIG: header }).auth.apiKeyHeader).toBe("X-Certo-Key");
  });

  test("an API-key header HTTP, a proxy or Keygate gives another meaning stops the start", () => {
    for (const taken of [
      "Authorization",
      "content-type",
      "Cookie",
      "X-Forwarded-For",
      "X-Real-IP",
      "X-Original-URI",
      "Idempotency-Key",
      "X-Correlation-Id",
      "X-Keygate-Entity-Id",
      "X-HTTP-Method-Override",
    ]) {
      const path = file("taken.json", JSON.stringify({ auth: { api_key_header: taken } }));
      expect(errorOf({ KEYGATE_CONFIG: path })).toBe(
        `KEYGATE_CONFIG ${path}: auth.api_key_header: ${taken} already means something to HTTP, a proxy or Keygate; name a header of your own, such as X-Api-Key`,
      );
    }
    for (const own of ["X-Api-Key", "Api-Key", "X-Certo-Key", "X-Keygate"]) {
      const path = file("own.json", JSON.stringify({ auth: { api_key_header: own } }));
      expect(loadConfig({ KEYGATE_CONFIG: path }).auth.apiKeyHeader).toBe(own);
    }
  });

  test("every key scheme off stops the start: management tokens alone reach /v1/api-keys* only", () => {
    for (const jwt of [true, false]) {
      const path = file(
        "no-keys.json",
        JSON.stringify({ auth: { bearer: false, api_key_header: false, basic: false, jwt } }),
      );
      expect(errorOf({ KEYGATE_CONFIG: path })).toBe(
        `KEYGATE_CONFIG ${path}: auth: bearer, api_key_header and basic are all off, so no API key could authenticate anywhere`,
      );
    }
    for (const one of [{ bearer: true }, { api_key_header: "X-Api-Key" }, { basic: true }]) {
      const path = file(
        "one-scheme.json",
        JSON.stringify({ auth: { bearer: false, api_key_header: false, basic: false, ...one } }),
      );
      expect(() => loadConfig({ KEYGATE_CONFIG: path })).not.toThrow();
    }
  });

  test("rate limits: a default policy and route policies (Modulus: POST /checkout 60/min)", () => {
    const path = file(
      "limits.json",
      JSON.stringify({
        rate_limits: {
          default: { limit: 100, window_seconds: 60, algorithm: "sliding" },
          routes: [{ method: "post", path: "/ecom/v1/checkout", limit: 60, window_seconds: 60 }],
        },
      }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: path }).rateLimits).toEqual({
      enabled: true,
      default: { name: "default", limit: 100, windowSeconds: 60, algorithm: "sliding" },
      routes: [
        {
          name: "POST /ecom/v1/checkout",
          method: "POST",
          path: "/ecom/v1/checkout",
          limit: 60,
          windowSeconds: 60,
          algorithm: "fixed",
        },
      ],
    });
    const bad = file(
      "bad-limit.json",
      JSON.stringify({ rate_limits: { default: { limit: 0, window_seconds: 1 } } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: bad })).toMatch(/rate_limits.default.limit/);
  });

  test("each rate-limit policy has a name of its own: not the default's or a key's, not another route policy's", () => {
    // A route policy named "default" shared the default policy's counter: every request
    // matching it was counted twice (a 5/s policy let 3 through).
    const policy = { method: "GET", path: "/v1/me", limit: 5, window_seconds: 1 };
    const errorWith = (name: string, content: object) =>
      errorOf({ KEYGATE_CONFIG: file(`${name}.json`, JSON.stringify(content)) });
    expect(
      errorWith("default", { rate_limits: { routes: [{ ...policy, name: "default" }] } }),
    ).toBe(
      `KEYGATE_CONFIG ${join(tmp.dir, "default.json")}: rate_limits.routes[0].name: "default" is the name of the default policy: give this policy a name of its own`,
    );
    expect(errorWith("key", { rate_limits: { routes: [{ ...policy, name: "key" }] } })).toContain(
      '"key" is the name of a key\'s own limit',
    );
    // The default names clash too: the same method and path in both sections.
    const twice = errorWith("twice", {
      rate_limits: { routes: [policy] },
      gateway: {
        upstream: "http://127.0.0.1:1",
        routes: [
          {
            method: "GET",
            path: "/v1/me2",
            rate_limit: { limit: 1, window_seconds: 1, name: "GET /v1/me" },
          },
        ],
      },
    });
    expect(twice).toContain(
      'gateway.routes[0].rate_limit.name: "GET /v1/me" is already the name of rate_limits.routes[0]',
    );
  });

  test("idempotency: methods, key format, window, mismatch status, 5xx, size cap, required routes", () => {
    const path = file(
      "idempotency.json",
      JSON.stringify({
        idempotency: {
          methods: ["post", "PUT"],
          key_pattern: "^[0-9a-f-]{36}$",
          ttl_seconds: 3600,
          mismatch_status: 422,
          record_server_errors: false,
          max_response_bytes: 4096,
          required: [{ method: "post", path: "/ecom/v1/checkout" }],
        },
      }),
    );
    const config = loadConfig({ KEYGATE_CONFIG: path, KEYGATE_RESULTS_KEY: "ab".repeat(32) });
    expect(config.idempotency).toEqual({
      enabled: true,
      methods: ["POST", "PUT"],
      keyPattern: /^[0-9a-f-]{36}$/,
      ttlSeconds: 3600,
      mismatchStatus: 422,
      recordServerErrors: false,
      maxResponseBytes: 4096,
      required: [{ method: "POST", path: "/ecom/v1/checkout", routeOwned: false }],
    });
    expect(config.resultsKey).toBe("ab".repeat(32));
    const badPattern = file(
      "bad-pattern.json",
      JSON.stringify({ idempotency: { key_pattern: "([" } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: badPattern })).toContain("idempotency.key_pattern");
    const badStatus = file(
      "bad-status.json",
      JSON.stringify({ idempotency: { mismatch_status: 400 } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: badStatus })).toContain("idempotency.mismatch_status");
    expect(errorOf({ KEYGATE_RESULTS_KEY: "too-short" })).toContain("KEYGATE_RESULTS_KEY");
  });

  test("Idempotency-Key required where the header is not read stops the start, naming the requirement", () => {
    const upstream = "http://127.0.0.1:4000";
    const checkout = { method: "POST", path: "/checkout", scopes: ["checkout:write"] };
    for (const [field, reason, config] of [
      [
        "idempotency.required[0]",
        "while idempotency.enabled is false",
        { idempotency: { enabled: false, required: [{ method: "POST", path: "/v1/entities" }] } },
      ],
      [
        "gateway.routes[1].idempotency",
        "while idempotency.enabled is false",
        {
          idempotency: { enabled: false },
          gateway: { routes: [checkout, { ...checkout, path: "/pay", idempotency: "required" }] },
        },
      ],
      [
        "idempotency.required[0]",
        "required on POST, which idempotency.methods (PUT) does not name",
        { idempotency: { methods: ["PUT"], required: [{ method: "post", path: "/v1/entities" }] } },
      ],
      [
        "gateway.routes[0].idempotency",
        "required on DELETE, which idempotency.methods (POST) does not name",
        { gateway: { routes: [{ ...checkout, method: "DELETE", idempotency: "required" }] } },
      ],
    ] as const) {
      const path = file("unread.json", JSON.stringify(config));
      const error = errorOf({ KEYGATE_CONFIG: path, KEYGATE_UPSTREAM: upstream });
      expect(error).toContain(`${field}: Idempotency-Key is `);
      expect(error).toContain(reason);
    }
    // Where the header is read, the same requirements are accepted.
    const fine = file(
      "read.json",
      JSON.stringify({
        idempotency: { methods: ["POST", "DELETE"] },
        gateway: { routes: [{ ...checkout, method: "DELETE", idempotency: "required" }] },
      }),
    );
    expect(
      loadConfig({ KEYGATE_CONFIG: fine, KEYGATE_UPSTREAM: upstream }).idempotency.required,
    ).toEqual([{ method: "DELETE", path: "/checkout", routeOwned: true }]);
  });

  test("idempotency.key_pattern must match whole keys and must not repeat a repetition (the header is the client's text)", () => {
    const patternError = (keyPattern: string) =>
      errorOf({
        KEYGATE_CONFIG: file(
          "pattern.json",
          JSON.stringify({ idempotency: { key_pattern: keyPattern } }),
        ),
      });
    // Exponential backtracking on a crafted header: refused, naming the field and the group.
    for (const nested of [
      "^([A-Za-z0-9]+)+$",
      "^(a*)*$",
      "^((ab+)c)+$",
      "^(?:[a-z]{2,})+$",
      "^(?:x|(y+)){2,5}$",
    ]) {
      expect(patternError(nested)).toMatch(
        /idempotency\.key_pattern: the group ending at character \d+ repeats a repetition/,
      );
    }
    // A key that merely contains a match would pass: refused.
    for (const partial of [
      "[A-Za-z0-9]{8,64}",
      "^[a-z]{8,64}",
      "[a-z]{8,64}$",
      "^a{8}|b{8}$",
      "^[a-z]{8}\\$",
    ]) {
      expect(patternError(partial)).toContain("idempotency.key_pattern: must match the whole key");
    }
    // Repetition of fixed-length groups, lookaheads, classes holding quantifier characters,
    // escaped parentheses and alternatives inside a group are fine.
    for (const fine of [
      "^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$",
      "^(?=.*[0-9])[A-Za-z0-9]{8,64}$",
      "^[+*(){}]{8,64}$",
      "^\\([a-z]+\\)+$",
      "^(?:live|test)-[a-z0-9]{8,32}$",
    ]) {
      const path = file("fine.json", JSON.stringify({ idempotency: { key_pattern: fine } }));
      expect(loadConfig({ KEYGATE_CONFIG: path }).idempotency.keyPattern).toEqual(new RegExp(fine));
    }
  });

  test("a configured method must be one an HTTP API is called with: a typo stops the start", () => {
    const routes = (method: string) => ({
      gateway: { routes: [{ method, path: "/charges", scopes: ["charges:write"] }] },
    });
    for (const [name, config] of [
      ["gateway.routes[0].method", routes("PSOT")],
      [
        "rate_limits.routes[0].method",
        { rate_limits: { routes: [{ method: "GTE", path: "/a", limit: 1, window_seconds: 1 }] } },
      ],
      ["idempotency.methods[0]", { idempotency: { methods: ["BREW"] } }],
      [
        "idempotency.required[0].method",
        { idempotency: { required: [{ method: "CONNECT", path: "/a" }] } },
      ],
    ] as const) {
      const path = file("method.json", JSON.stringify(config));
      expect(
        errorOf({ KEYGATE_CONFIG: path, KEYGATE_UPSTREAM: "http://127.0.0.1:4000" }),
      ).toContain(`${name}: Expected string to match '^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|`);
    }
    const lower = file("lower.json", JSON.stringify(routes("delete")));
    const config = loadConfig({ KEYGATE_CONFIG: lower, KEYGATE_UPSTREAM: "http://127.0.0.1:4000" });
    expect(config.gateway.routes[0]?.method).toBe("DELETE");
  });

  test("a path pattern the router would read otherwise stops the start, wherever it is written", () => {
    for (const [field, config] of [
      [
        "gateway.routes[0].path: /files/*/raw",
        { gateway: { routes: [{ method: "GET", path: "/files/*/raw" }] } },
      ],
      [
        "rate_limits.routes[0].path: /v1/api-keys/x:id",
        {
          rate_limits: {
            routes: [{ method: "GET", path: "/v1/api-keys/x:id", limit: 1, window_seconds: 1 }],
          },
        },
      ],
      [
        "idempotency.required[0].path: /charges?expand=x",
        { idempotency: { required: [{ method: "POST", path: "/charges?expand=x" }] } },
      ],
      // Routes no request could reach: the gateway refuses a request with an empty segment.
      [
        "gateway.routes[0].path: /a//x",
        { gateway: { routes: [{ method: "GET", path: "/a//x", scopes: ["a:read"] }] } },
      ],
      [
        "gateway.routes[0].path: /orders/{id}",
        { gateway: { routes: [{ method: "GET", path: "/orders/{id}", scopes: ["a:read"] }] } },
      ],
    ] as const) {
      const path = file("pattern.json", JSON.stringify(config));
      expect(errorOf({ KEYGATE_CONFIG: path })).toStartWith(`KEYGATE_CONFIG ${path}: ${field}: `);
    }
    // A gateway route's characters are those a request path carries unencoded.
    for (const written of ["/links ", "/caf\u00e9", "/a/%7E"]) {
      const path = file(
        "chars.json",
        JSON.stringify({
          gateway: { routes: [{ method: "GET", path: written, scopes: ["a:read"] }] },
        }),
      );
      expect(errorOf({ KEYGATE_CONFIG: path })).toBe(
        `KEYGATE_CONFIG ${path}: gateway.routes[0].path: ${written}: a gateway route's path holds letters, digits, - . _ ~ and / only, besides its :parameters and a final * (a character a client must percent-encode would be matched encoded, which the gateway refuses)`,
      );
    }
    // A star at the end covers what starts so, here and in the router alike.
    const prefix = file(
      "prefix.json",
      JSON.stringify({
        rate_limits: {
          routes: [{ method: "GET", path: "/v1/api-keys*", limit: 1, window_seconds: 1 }],
        },
      }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: prefix }).rateLimits.routes[0]?.path).toBe("/v1/api-keys*");
  });

  test("renaming an error code that does not exist is refused", () => {
    const path = file(
      "bad-code.json",
      JSON.stringify({ errors: { codes: { no_such_code: "x" } } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: path })).toMatch(/errors.codes/);
  });

  test("the file sets values; environment variables win over it", () => {
    const path = file(
      "ok.json",
      JSON.stringify({
        port: 4000,
        database: { path: "/tmp/x.sqlite", durability: "full" },
        keys: { secret_prefix: "ck" },
      }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: path })).toMatchObject({
      port: 4000,
      dbPath: "/tmp/x.sqlite",
      durability: "full",
      keys: { secretPrefix: "ck", publicPrefix: "pk" },
    });
    expect(
      loadConfig({
        KEYGATE_CONFIG: path,
        KEYGATE_PORT: "5000",
        KEYGATE_DB: "/tmp/y.sqlite",
        KEYGATE_PEPPER: "p",
      }),
    ).toMatchObject({
      port: 5000,
      dbPath: "/tmp/y.sqlite",
      keys: { pepper: "p" },
    });
  });

  test("the listening address: KEYGATE_HOST, else the file's host; a malformed one is refused", () => {
    expect(loadConfig({ KEYGATE_HOST: "127.0.0.1" }).host).toBe("127.0.0.1");
    expect(loadConfig({ KEYGATE_HOST: "::1" }).host).toBe("::1");
    const config = file("host.json", JSON.stringify({ host: "localhost" }));
    expect(loadConfig({ KEYGATE_CONFIG: config }).host).toBe("localhost");
    expect(loadConfig({ KEYGATE_CONFIG: config, KEYGATE_HOST: "10.0.0.5" }).host).toBe("10.0.0.5");
    expect(errorOf({ KEYGATE_HOST: "http://127.0.0.1" })).toContain(
      'KEYGATE_HOST: "http://127.0.0.1" is not an address or a host name',
    );
    expect(errorOf({ KEYGATE_HOST: "127.0.0.1 " })).toContain("KEYGATE_HOST");
    // A port in the host would surface only as a failure to listen.
    expect(errorOf({ KEYGATE_HOST: "0.0.0.0:80" })).toBe(
      'KEYGATE_HOST: "0.0.0.0:80" is neither a host name nor an address (a : belongs in an IPv6 address only; the port is KEYGATE_PORT, or the file\'s port)',
    );
    const withPort = file("host-port.json", JSON.stringify({ host: "localhost:4000" }));
    expect(errorOf({ KEYGATE_CONFIG: withPort })).toStartWith(
      `KEYGATE_CONFIG ${withPort}: host: "localhost:4000" is neither a host name nor an address`,
    );
    expect(loadConfig({ KEYGATE_HOST: "fe80::1" }).host).toBe("fe80::1");
    const bad = file("bad-host.json", JSON.stringify({ host: "a b" }));
    expect(errorOf({ KEYGATE_CONFIG: bad })).toContain("host:");
  });

  test("idle_timeout_seconds: how long Bun's server keeps a silent connection, 1–255 (Bun's range), 30 by default", () => {
    const config = file("idle.json", JSON.stringify({ idle_timeout_seconds: 120 }));
    expect(loadConfig({ KEYGATE_CONFIG: config }).idleTimeoutSeconds).toBe(120);
    for (const bad of [0, 256, 1.5, "60"]) {
      const path = file("bad-idle.json", JSON.stringify({ idle_timeout_seconds: bad }));
      expect(errorOf({ KEYGATE_CONFIG: path })).toContain("bad-idle.json: idle_timeout_seconds:");
    }
  });

  test("trusted proxies and metrics.allow take addresses and CIDR ranges; anything else stops the start, naming the entry", () => {
    const at = (config: unknown) => file("addresses.json", JSON.stringify(config));
    const config = loadConfig({
      KEYGATE_CONFIG: at({
        gateway: { trusted_proxies: ["10.0.0.0/8", "::1"] },
        metrics: { allow: ["192.168.0.0/16"] },
      }),
    });
    expect(config.gateway.trustedProxies.has("10.20.30.40")).toBe(true);
    expect(config.gateway.trustedProxies.has("127.0.0.1")).toBe(false);
    expect(config.metrics.allow.has("::ffff:192.168.1.9")).toBe(true);
    expect(
      errorOf({ KEYGATE_CONFIG: at({ gateway: { trusted_proxies: ["::1", "nginx"] } }) }),
    ).toBe(
      `KEYGATE_CONFIG ${join(tmp.dir, "addresses.json")}: gateway.trusted_proxies[1]: "nginx" is not an IP address or a range of them (192.0.2.10, 10.0.0.0/8, fd00::/8); a name is not looked up: give its address`,
    );
    expect(errorOf({ KEYGATE_CONFIG: at({ metrics: { allow: ["10.0.0.0/33"] } }) })).toBe(
      `KEYGATE_CONFIG ${join(tmp.dir, "addresses.json")}: metrics.allow[0]: "10.0.0.0/33": the prefix length must be 0 to 32 for an IPv4 range`,
    );
  });

  test("gateway.timeout_seconds: more than 0, at most 300 (Bun's fetch gives up on a connection silent for 5 minutes)", () => {
    const at = (timeout: unknown) =>
      file("timeout.json", JSON.stringify({ gateway: { timeout_seconds: timeout } }));
    expect(loadConfig({ KEYGATE_CONFIG: at(300) }).gateway.timeoutMs).toBe(300_000);
    expect(loadConfig({ KEYGATE_CONFIG: at(0.5) }).gateway.timeoutMs).toBe(500);
    for (const bad of [0, 301])
      expect(errorOf({ KEYGATE_CONFIG: at(bad) })).toContain(
        "timeout.json: gateway.timeout_seconds:",
      );
  });

  test("HTTPS: certificate and key together, from the environment or the file; half of it stops the start", () => {
    expect(
      loadConfig({ KEYGATE_TLS_CERT: "/etc/kg/cert.pem", KEYGATE_TLS_KEY: "/etc/kg/key.pem" }).tls,
    ).toEqual({
      certPath: "/etc/kg/cert.pem",
      keyPath: "/etc/kg/key.pem",
      certSetting: "KEYGATE_TLS_CERT",
      keySetting: "KEYGATE_TLS_KEY",
    });
    expect(errorOf({ KEYGATE_TLS_CERT: "/etc/kg/cert.pem" })).toBe(
      "KEYGATE_TLS_KEY: must be set with KEYGATE_TLS_CERT",
    );
    expect(errorOf({ KEYGATE_TLS_KEY: "/etc/kg/key.pem" })).toBe(
      "KEYGATE_TLS_CERT: must be set with KEYGATE_TLS_KEY",
    );
    const config = file(
      "tls.json",
      JSON.stringify({ tls: { cert_path: "c.pem", key_path: "k.pem" } }),
    );
    expect(loadConfig({ KEYGATE_CONFIG: config }).tls).toEqual({
      certPath: "c.pem",
      keyPath: "k.pem",
      certSetting: `KEYGATE_CONFIG ${config}: tls.cert_path`,
      keySetting: `KEYGATE_CONFIG ${config}: tls.key_path`,
    });
    // The variables replace the file's pair as a whole.
    expect(
      loadConfig({ KEYGATE_CONFIG: config, KEYGATE_TLS_CERT: "a.pem", KEYGATE_TLS_KEY: "b.pem" })
        .tls?.certPath,
    ).toBe("a.pem");
    const half = file("tls-half.json", JSON.stringify({ tls: { cert_path: "c.pem" } }));
    expect(errorOf({ KEYGATE_CONFIG: half })).toContain("tls.key_path");
  });

  test("a bad field is named", () => {
    const path = file("bad-type.json", JSON.stringify({ port: "eighty" }));
    expect(errorOf({ KEYGATE_CONFIG: path })).toMatch(/bad-type.json: port: Expected integer/);
    const prefix = file("bad-prefix.json", JSON.stringify({ keys: { secret_prefix: "SK!" } }));
    expect(errorOf({ KEYGATE_CONFIG: prefix })).toMatch(
      /keys.secret_prefix: Expected string to match/,
    );
    const durability = file(
      "bad-enum.json",
      JSON.stringify({ database: { durability: "sometimes" } }),
    );
    expect(errorOf({ KEYGATE_CONFIG: durability })).toMatch(
      /database.durability: Expected one of "normal", "full"$/,
    );
    const policy = file("bad-union.json", JSON.stringify({ rate_limits: { default: 100 } }));
    expect(errorOf({ KEYGATE_CONFIG: policy })).toMatch(
      /rate_limits.default: Expected one of object, null$/,
    );
  });

  test("a field given twice is named rather than the last one silently kept", () => {
    const path = file("twice.json", '{"auth":{"bearer":true,"basic":false,"bearer":false}}');
    expect(errorOf({ KEYGATE_CONFIG: path })).toMatch(
      /twice.json: auth.bearer: given twice in its object; keep one$/,
    );
  });

  test("a field that must be given is called missing, by its path", () => {
    const routes = { routes: [{ method: "POST", path: "/checkout", limit: 60 }] };
    const path = file("missing-window.json", JSON.stringify({ rate_limits: routes }));
    expect(errorOf({ KEYGATE_CONFIG: path })).toMatch(
      /rate_limits\.routes\[0\]\.window_seconds: Missing; this field is required$/,
    );
  });

  test("a file saved with a byte-order mark (Notepad's UTF-8) is read as the JSON it holds", () => {
    const path = file("bom.json", `\ufeff${JSON.stringify({ port: 4100 })}`);
    expect(loadConfig({ KEYGATE_CONFIG: path }).port).toBe(4100);
  });

  test("an unknown field is named rather than ignored", () => {
    const path = file("unknown.json", JSON.stringify({ keys: { prefix: "sk" } }));
    expect(errorOf({ KEYGATE_CONFIG: path })).toMatch(
      /keys.prefix: Unexpected property \(the fields here are secret_prefix, public_prefix\)$/,
    );
  });

  test("unreadable, non-JSON and clashing settings are refused with the reason", () => {
    expect(errorOf({ KEYGATE_CONFIG: join(tmp.dir, "missing.json") })).toMatch(
      /cannot read the file/,
    );
    expect(errorOf({ KEYGATE_CONFIG: file("broken.json", "{ port: 1") })).toMatch(/not valid JSON/);
    // Not UTF-8 (Latin-1's é): refused as such, not read with U+FFFD in its place.
    const latin1 = join(tmp.dir, "latin1.json");
    writeFileSync(
      latin1,
      Buffer.concat([
        Buffer.from('{"gateway":{"routes":[{"method":"GET","path":"/caf'),
        Buffer.from([0xe9]),
        Buffer.from('","scopes":["menu:read"]}]}}'),
      ]),
    );
    expect(errorOf({ KEYGATE_CONFIG: latin1 })).toMatch(
      /latin1.json: not UTF-8 text; save the file as UTF-8$/,
    );
    const clash = file("clash.json", JSON.stringify({ keys: { secret_prefix: "pk" } }));
    expect(errorOf({ KEYGATE_CONFIG: clash })).toMatch(/keys.public_prefix: must differ/);
    expect(errorOf({ KEYGATE_PORT: "http" })).toMatch(/KEYGATE_PORT: "http" is not a port/);
  });
});

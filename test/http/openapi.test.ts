import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { MIN_PASSWORD_LENGTH } from "../../src/commands/users.ts";
import { API_HEADERS } from "../../src/http/api-headers.ts";
import { API_OBJECTS } from "../../src/http/api-objects.ts";
import { SCOPE_PATTERN } from "../../src/keys/scopes.ts";
import { testAppPerTest } from "../support/http.ts";
import { tempDir } from "../support/keygate.ts";
import { ROOT } from "../support/target.ts";
import { startUpstream } from "../support/upstream.ts";

const openTestApp = testAppPerTest();
const files = tempDir();
afterAll(files.remove);

describe("GET /openapi.json", () => {
  test("documents every route of SPEC §6 with its request schema", async () => {
    const t = openTestApp();
    const reply = await t.call("GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(reply.body.paths);
    for (const path of [
      "/v1/me",
      "/v1/api-keys",
      "/v1/api-keys/{id}",
      "/v1/api-keys/{id}/rotate",
      "/v1/api-keys/{id}/revoke",
      "/v1/api-keys/{id}/events",
      "/v1/entities",
      "/v1/entities/{id}",
      "/v1/entities/{id}/children",
      "/v1/entities/{id}/deactivate",
      "/v1/entities/{id}/reactivate",
      "/v1/users",
      "/v1/users/{id}",
      "/v1/users/{id}/deactivate",
      "/v1/users/{id}/reactivate",
      "/v1/users/{id}/password",
      "/v1/auth/login",
      "/v1/auth/password",
      "/v1/events",
      "/v1/keys/verify",
      "/healthz",
      "/readyz",
    ]) {
      expect(paths).toContain(path);
    }
    for (const path of ["/v1/users/{id}", "/v1/entities/{id}"])
      expect(Object.keys(reply.body.paths[path]).sort()).toEqual(["get", "patch"]);
    const create =
      reply.body.paths["/v1/api-keys"].post.requestBody.content["application/json"].schema;
    expect(create.required).toEqual(["name", "scopes"]);
    expect(create.additionalProperties).toBe(false);
    expect(Object.keys(reply.body.components.securitySchemes).sort()).toEqual([
      "apiKeyHeader",
      "keyPair",
      "managementToken",
      "secretKey",
    ]);
  });
});

/** Every schema under `node`, depth first. */
function* schemasIn(node: unknown): Generator<Record<string, unknown>> {
  if (!node || typeof node !== "object") return;
  if (!Array.isArray(node)) yield node as Record<string, unknown>;
  for (const child of Object.values(node)) yield* schemasIn(child);
}

describe("request bodies in the OpenAPI document", () => {
  test("a whole number is an integer, not also a string of digits (with a default of 0) a generated client may send", async () => {
    const t = openTestApp();
    const spec = (await t.call("GET", "/openapi.json")).body;
    const integers: string[] = [];
    for (const [path, methods] of Object.entries<Record<string, any>>(spec.paths))
      for (const [method, op] of Object.entries<any>(methods))
        for (const schema of schemasIn(op.requestBody)) {
          expect(schema.format, `${method} ${path}`).not.toBe("integer");
          if (schema.type === "integer") integers.push(`${method} ${path}`);
        }
    // The rate limit's two fields on create and patch, and the rotation's overlap.
    expect(integers.length).toBeGreaterThanOrEqual(5);
  });

  test("a whole-number query parameter is published as an integer with its range and default, though sent as digits", async () => {
    const t = openTestApp();
    const spec = (await t.call("GET", "/openapi.json")).body;
    const parameter = (path: string, name: string) =>
      spec.paths[path].get.parameters.find((p: { name: string }) => p.name === name).schema;
    expect(parameter("/v1/api-keys", "limit")).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 10,
    });
    expect(parameter("/v1/events", "limit")).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 1000,
      default: 100,
    });
    expect(parameter("/v1/events", "after")).toMatchObject({ type: "integer", minimum: 0 });
    // What the document says is what the route holds to.
    const said = async (path: string) => (await t.call("GET", path, { key: t.live })).body.error;
    expect((await said("/v1/api-keys?limit=101")).message).toBe("limit must be between 1 and 100.");
    expect((await said("/v1/events?limit=1001")).message).toBe("limit must be between 1 and 1000.");
    expect((await said("/v1/events?limit=1.5")).message).toBe(
      "limit must be a whole number, in digits (at most 15).",
    );
  });
});

describe("rules a route's code checks, published as schema keywords", () => {
  test("a new password's length, scopes' grammar and count, and expires_at's format are in the document, and held to", async () => {
    const { call, live, platform } = openTestApp();
    const spec = (await call("GET", "/openapi.json")).body;
    const body = (method: string, path: string) =>
      spec.paths[path][method].requestBody.content["application/json"].schema.properties;
    const password = {
      type: "string",
      minLength: MIN_PASSWORD_LENGTH,
      maxLength: 1024,
      description: "10–1,024 characters, none a control character (a line break, a tab)",
    };
    expect(body("post", "/v1/users").password).toEqual(password);
    expect(body("post", "/v1/users/{id}/password").password).toEqual(password);
    expect(body("post", "/v1/auth/password").new_password).toEqual(password);
    // Signing in takes any password held, whatever the rule when it was set.
    expect(body("post", "/v1/auth/login").password.minLength).toBe(1);
    for (const [method, path] of [
      ["post", "/v1/api-keys"],
      ["patch", "/v1/api-keys/{id}"],
    ] as const)
      expect(body(method, path).scopes).toMatchObject({
        minItems: 1,
        items: { pattern: SCOPE_PATTERN.source },
      });
    expect(body("post", "/v1/api-keys").expires_at).toEqual({
      type: ["string", "null"],
      maxLength: 40,
      format: "date-time",
    });
    for (const schema of schemasIn(spec.paths))
      expect(Object.keys(schema).filter((k) => k.startsWith("x-"))).toEqual([]);
    // What the document says is what the routes hold to.
    const user = (length: number) =>
      call("POST", "/v1/users", {
        key: live,
        body: {
          email: `u${length}@example.com`,
          password: "p".repeat(length),
          entity_id: platform,
        },
      });
    expect((await user(MIN_PASSWORD_LENGTH - 1)).status).toBe(400);
    expect((await user(MIN_PASSWORD_LENGTH)).status).toBe(200);
    const key = (scopes: string[]) =>
      call("POST", "/v1/api-keys", { key: live, body: { name: "k", scopes } });
    expect(new RegExp(SCOPE_PATTERN.source).test("Links:Read")).toBe(false);
    expect((await key(["Links:Read"])).status).toBe(400);
    expect((await key([])).status).toBe(400);
    expect((await key(["links:read"])).status).toBe(200);
  });
});

/** Whether a header's value fits the schema the document gives it. */
function headerFits(
  schema: { type: string; minimum?: number; enum?: string[]; format?: string },
  value: string,
) {
  if (schema.type === "integer")
    return /^\d+$/.test(value) && Number(value) >= (schema.minimum ?? 0);
  if (schema.enum) return schema.enum.includes(value);
  if (schema.format === "uuid")
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
  return true;
}

/**
 * What is wrong with the headers of an answer, against those its response declares: one sent
 * but not declared (any but the content's type and length), one declared required but not
 * sent, or a value that does not fit its schema.
 */
function headerFaults(spec: any, declared: any, headers: Headers): string[] {
  const byName = new Map<string, any>(
    Object.entries<any>(declared.headers ?? {}).map(([name, ref]) => [
      name.toLowerCase(),
      spec.components.headers[ref.$ref.split("/").at(-1)],
    ]),
  );
  const faults: string[] = [];
  for (const [name, value] of headers) {
    if (name === "content-type" || name === "content-length") continue;
    const header = byName.get(name);
    if (!header) faults.push(`${name} is sent but not declared`);
    else if (!headerFits(header.schema, value)) faults.push(`${name}: ${value} does not fit`);
  }
  for (const [name, header] of byName)
    if (header.required && !headers.has(name)) faults.push(`${name} is required but not sent`);
  return faults;
}

/** Every operation of the document, with its method and path. */
function operationsOf(spec: any): { method: string; path: string; op: any }[] {
  return Object.entries<Record<string, any>>(spec.paths).flatMap(([path, methods]) =>
    Object.entries<any>(methods).map(([method, op]) => ({ method, path, op })),
  );
}

describe("operations in the OpenAPI document", () => {
  test("each has a summary, a group, a unique camelCase name, its answer and the error envelope", async () => {
    const spec = (await openTestApp().call("GET", "/openapi.json")).body;
    const operations = operationsOf(spec);
    expect(operations.length).toBeGreaterThanOrEqual(30);
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations) {
      const where = `${method} ${path}`;
      expect(op.summary, where).toBeString();
      expect(op.tags, where).toHaveLength(1);
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(op.responses["4XX"].content["application/json"].schema.$ref, where).toBe(
        "#/components/schemas/Error",
      );
      const ok = op.responses["200"];
      const named = ok.content?.["application/json"]?.schema.$ref?.split("/").at(-1);
      if (named) expect(Object.keys(API_OBJECTS), where).toContain(named);
      // No extension of Keygate's own is left behind for a generator to trip on.
      expect(
        Object.keys(op).filter((k) => k.startsWith("x-")),
        where,
      ).toEqual([]);
    }
    const names = Object.fromEntries(
      operations.map(({ method, path, op }) => [`${method} ${path}`, op.operationId]),
    );
    expect(names).toMatchObject({
      "post /v1/api-keys": "createApiKey",
      "get /v1/api-keys": "listApiKeys",
      "post /v1/api-keys/{id}/rotate": "rotateApiKey",
      "get /v1/me": "getMe",
      "post /v1/auth/login": "login",
    });
  });

  test("a body that may be left out is not required; who may call each route is said", async () => {
    const spec = (await openTestApp().call("GET", "/openapi.json")).body;
    const op = (method: string, path: string) => spec.paths[path][method];
    expect(op("post", "/v1/api-keys/{id}/rotate").requestBody.required).toBe(false);
    expect(op("post", "/v1/api-keys/{id}/revoke").requestBody.required).toBe(false);
    expect(op("post", "/v1/api-keys").requestBody.required).toBe(true);
    // No credential: sign-in and health. Keys and tokens: the key management routes. Keys alone:
    // the rest, as the document's default.
    for (const [method, path] of [
      ["post", "/v1/auth/login"],
      ["post", "/v1/auth/password"],
      ["get", "/healthz"],
      ["get", "/readyz"],
    ] as const)
      expect(op(method, path).security, path).toEqual([]);
    expect(op("get", "/v1/api-keys").security).toContainEqual({ managementToken: [] });
    expect(op("get", "/v1/api-keys").security).toContainEqual({ secretKey: [] });
    expect(op("get", "/v1/me").security).toBeUndefined();
    // Idempotency-Key: on the POSTs that need a credential, in its configured form.
    const header = (method: string, path: string) =>
      op(method, path).parameters?.find((p: { name: string }) => p.name === "Idempotency-Key");
    expect(header("post", "/v1/api-keys")).toMatchObject({
      in: "header",
      required: false,
      schema: { type: "string", pattern: "^[A-Za-z0-9._-]{8,64}$" },
    });
    expect(header("post", "/v1/api-keys/{id}/rotate")).toBeDefined();
    expect(header("patch", "/v1/api-keys/{id}")).toBeUndefined();
    expect(header("post", "/v1/auth/login")).toBeUndefined();
    expect(spec.security).toEqual([{ secretKey: [] }, { apiKeyHeader: [] }, { keyPair: [] }]);
  });

  test("the credential schemes are the configuration's: a renamed header, a scheme switched off, another prefix", async () => {
    const config = {
      auth: { bearer: false, basic: false, api_key_header: "X-Shop-Key" },
      keys: { secret_prefix: "ck" },
    };
    const spec = (await openTestApp({ config }).call("GET", "/openapi.json")).body;
    expect(spec.components.securitySchemes).toEqual({
      apiKeyHeader: {
        type: "apiKey",
        in: "header",
        name: "X-Shop-Key",
        description: "A secret key: ck_live_… or ck_test_…",
      },
      managementToken: expect.objectContaining({ scheme: "bearer", bearerFormat: "JWT" }),
    });
    expect(spec.security).toEqual([{ apiKeyHeader: [] }]);
  });

  test("every named object nests the others by reference", async () => {
    const spec = (await openTestApp().call("GET", "/openapi.json")).body;
    const { schemas } = spec.components;
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(API_OBJECTS).sort());
    expect(schemas.ApiKeyList.properties.data.items).toEqual({
      $ref: "#/components/schemas/ApiKey",
    });
    expect(schemas.Me.properties.key).toEqual({ $ref: "#/components/schemas/ApiKey" });
    for (const schema of schemasIn(schemas)) expect(schema.$id).toBeUndefined();
  });

  test("an object no route of the configuration answers with is left out; every reference resolves", async () => {
    const refsIn = (node: unknown): string[] =>
      JSON.stringify(node).match(/#\/components\/schemas\/\w+/g) ?? [];
    // Management tokens off (Calmony, VoltzPay): no sign-in, so no Token.
    const noJwt = (
      await openTestApp({ config: { auth: { jwt: false } } }).call("GET", "/openapi.json")
    ).body;
    const withJwt = (await openTestApp().call("GET", "/openapi.json")).body;
    expect(Object.keys(noJwt.components.schemas)).not.toContain("Token");
    expect(Object.keys(withJwt.components.schemas)).toContain("Token");
    for (const spec of [noJwt, withJwt])
      for (const ref of refsIn(spec))
        expect(spec.components.schemas[ref.slice("#/components/schemas/".length)]).toBeDefined();
  });
});

describe("answers against the objects the document names", () => {
  test("every route's success fits the schema its operation names, and its errors the envelope; every header sent is declared", async () => {
    // On a file: the audits run on a thread of their own, which cannot open a memory database.
    const t = openTestApp({ env: { KEYGATE_DB: join(files.dir, "keygate.sqlite") } });
    const { call, kg, live, platform, clock } = t;
    const spec = (await call("GET", "/openapi.json")).body;
    const checked = new Set<string>();
    const headersSeen: string[] = [];
    /** Calls `path` (its template `route`) and checks the answer against the document. */
    const fits = async (method: string, route: string, path: string, options: object = {}) => {
      const reply = await call(method.toUpperCase(), path, { key: live, ...options });
      const answers = spec.paths[route][method].responses;
      const status = reply.status < 300 ? "200" : String(reply.status);
      const declared = answers[status] ?? answers[`${status[0]}XX`];
      const where = `${method} ${path} (${reply.status})`;
      expect(headerFaults(spec, declared, reply.headers), where).toEqual([]);
      headersSeen.push(...reply.headers.keys());
      const content = declared.content?.["application/json"];
      if (!content) return reply;
      const name = content.schema.$ref.split("/").at(-1);
      const schema = API_OBJECTS[name as keyof typeof API_OBJECTS];
      const errors = [...Value.Errors(schema, reply.body)].map((e) => `${e.path}: ${e.message}`);
      expect(errors, `${where} as ${name}`).toEqual([]);
      if (reply.status < 300) checked.add(`${method} ${route}`);
      return reply.body;
    };
    const key = await fits("post", "/v1/api-keys", "/v1/api-keys", {
      body: {
        name: "billing",
        scopes: ["links:read"],
        rate_limit: { limit: 5, window_seconds: 1 },
      },
    });
    await fits("post", "/v1/api-keys", "/v1/api-keys", {
      body: {
        name: "pair",
        scopes: ["links:read"],
        kind: "pair",
        expires_at: "2099-01-01T00:00:00Z",
      },
    });
    const id = key.id;
    await fits("get", "/v1/me", "/v1/me");
    await fits("get", "/v1/me", "/v1/me", { key: undefined });
    await fits("get", "/v1/api-keys", "/v1/api-keys?limit=1");
    await fits("get", "/v1/api-keys/{id}", `/v1/api-keys/${id}`);
    await fits("patch", "/v1/api-keys/{id}", `/v1/api-keys/${id}`, { body: { name: "billing 2" } });
    await fits("post", "/v1/api-keys/{id}/rotate", `/v1/api-keys/${id}/rotate`);
    await fits("post", "/v1/api-keys/{id}/rotate", `/v1/api-keys/${id}/rotate`, {
      body: { expire_previous_in: 60 },
    });
    await fits("post", "/v1/keys/verify", "/v1/keys/verify", {
      body: { key: live, scopes: ["x:read"] },
    });
    await fits("post", "/v1/keys/verify", "/v1/keys/verify", { body: { key: live } });
    await fits("post", "/v1/api-keys/{id}/revoke", `/v1/api-keys/${id}/revoke`, {
      body: { reason: "done" },
    });
    await fits("post", "/v1/keys/verify", "/v1/keys/verify", { body: { key: key.secret } });
    await fits("get", "/v1/api-keys/{id}/events", `/v1/api-keys/${id}/events`);
    // A compressed body's 415, a replay, a refusal over a rate limit, forward-auth's pass and
    // refusal.
    await fits("post", "/v1/entities", "/v1/entities", {
      body: { kind: "partner", name: "Z" },
      headers: { "content-encoding": "gzip" },
    });
    const retried = {
      body: { kind: "partner", name: "R" },
      headers: { "idempotency-key": "retry-1234" },
    };
    await fits("post", "/v1/entities", "/v1/entities", retried);
    await fits("post", "/v1/entities", "/v1/entities", retried);
    const limited = await fits("post", "/v1/api-keys", "/v1/api-keys", {
      body: { name: "one a second", scopes: ["*"], rate_limit: { limit: 1, window_seconds: 1 } },
    });
    await fits("get", "/v1/me", "/v1/me", { key: limited.secret });
    await fits("get", "/v1/me", "/v1/me", { key: limited.secret });
    const original = { "x-original-method": "GET", "x-original-uri": "/anything" };
    await fits("get", "/v1/forward-auth", "/v1/forward-auth", { headers: original });
    await fits("get", "/v1/forward-auth", "/v1/forward-auth", {
      headers: original,
      key: "sk_live_x",
    });
    const partner = await fits("post", "/v1/entities", "/v1/entities", {
      body: { kind: "partner", name: "P", reference: "P-1" },
    });
    await fits("post", "/v1/entities", "/v1/entities", { body: { kind: "branch", name: "B" } });
    await fits("get", "/v1/entities/{id}", `/v1/entities/${partner.id}`);
    await fits("patch", "/v1/entities/{id}", `/v1/entities/${partner.id}`, {
      body: { reference: null },
    });
    await fits("get", "/v1/entities/{id}/children", `/v1/entities/${platform}/children`);
    await fits("post", "/v1/entities/{id}/deactivate", `/v1/entities/${partner.id}/deactivate`);
    await fits("post", "/v1/entities/{id}/reactivate", `/v1/entities/${partner.id}/reactivate`);
    const password = "correct horse battery";
    const user = await fits("post", "/v1/users", "/v1/users", {
      body: { email: "ops@example.com", password, entity_id: platform },
    });
    await fits("get", "/v1/users", "/v1/users");
    await fits("get", "/v1/users/{id}", `/v1/users/${user.id}`);
    await fits("patch", "/v1/users/{id}", `/v1/users/${user.id}`, {
      body: { email: "OPS@example.com" },
    });
    await fits("post", "/v1/users/{id}/password", `/v1/users/${user.id}/password`, {
      body: { password: `${password}!` },
    });
    await fits("post", "/v1/auth/password", "/v1/auth/password", {
      key: undefined,
      body: { email: "ops@example.com", password: `${password}!`, new_password: password },
    });
    await fits("post", "/v1/auth/login", "/v1/auth/login", {
      key: undefined,
      body: { email: "ops@example.com", password },
    });
    await fits("post", "/v1/users/{id}/deactivate", `/v1/users/${user.id}/deactivate`);
    await fits("post", "/v1/users/{id}/reactivate", `/v1/users/${user.id}/reactivate`);
    await fits("get", "/v1/events", "/v1/events?limit=50");
    await fits("get", "/v1/audit/checkpoint", "/v1/audit/checkpoint");
    appendCheckpoint(kg.db.sql, checkpointKey(kg.config, kg.db.sql), clock.now());
    await fits("get", "/v1/audit/checkpoint", "/v1/audit/checkpoint");
    await fits("get", "/v1/audit/verify", "/v1/audit/verify");
    await fits("get", "/v1/audit/replay", "/v1/audit/replay");
    // The tables and the log edited behind Keygate's back: both verdicts in their other shape.
    kg.db.sql.exec("UPDATE api_keys SET name = 'edited' WHERE id = (SELECT MIN(id) FROM api_keys)");
    expect((await fits("get", "/v1/audit/replay", "/v1/audit/replay")).identical).toBe(false);
    kg.db.sql.exec("DROP TRIGGER events_no_update");
    kg.db.sql.exec("UPDATE events SET recorded_at = '2000-01-01T00:00:00.000Z' WHERE position = 1");
    expect((await fits("get", "/v1/audit/verify", "/v1/audit/verify")).intact).toBe(false);
    await fits("get", "/healthz", "/healthz", { key: undefined });
    await fits("get", "/readyz", "/readyz", { key: undefined });
    // The database gone: /readyz is 503, in the shape its operation names for 503.
    const sql = kg.db.sql;
    const prepare = sql.prepare;
    sql.prepare = () => {
      throw new Error("SQLITE_IOERR: disk I/O error");
    };
    try {
      expect(await fits("get", "/readyz", "/readyz", { key: undefined })).toEqual({
        status: "unavailable",
      });
    } finally {
      sql.prepare = prepare;
    }
    // Every operation answering a named object was called and fitted it.
    const named = operationsOf(spec)
      .filter(({ op }) => op.responses["200"].content?.["application/json"])
      .map(({ method, path }) => `${method} ${path}`);
    expect(named.filter((operation) => !checked.has(operation))).toEqual([]);
    // Every header the document names was sent by some answer above.
    const seen = new Set(headersSeen);
    const never = Object.keys(spec.components.headers).filter((n) => !seen.has(n.toLowerCase()));
    expect(never).toEqual([]);
  });
});

describe("a preset's document", () => {
  test("gateway routes and /me aliases get unique camelCase names and the upstream's answer", async () => {
    for (const preset of ["certopay", "voltzpay", "modulus"]) {
      const config = JSON.parse(readFileSync(join(ROOT, "presets", `${preset}.json`), "utf8"));
      config.gateway.upstream = "http://127.0.0.1:9";
      const spec = (await openTestApp({ config }).call("GET", "/openapi.json")).body;
      const operations = operationsOf(spec);
      const ids = operations.map(({ op }) => op.operationId);
      expect(new Set(ids).size, preset).toBe(ids.length);
      for (const id of ids) expect(id, preset).toMatch(/^[a-z][A-Za-z0-9]+$/);
      const forwarded = operations.filter(
        ({ op }) => op.tags[0] === "Gateway" && op.responses.default,
      );
      expect(forwarded.length, preset).toBeGreaterThan(0);
      for (const { op } of forwarded) expect(op.responses.default.content).toBeUndefined();
    }
    const certopay = JSON.parse(readFileSync(join(ROOT, "presets", "certopay.json"), "utf8"));
    certopay.gateway.upstream = "http://127.0.0.1:9";
    const spec = (await openTestApp({ config: certopay }).call("GET", "/openapi.json")).body;
    expect(spec.paths["/api/payment-gateway/process"].post.operationId).toBe(
      "postApiPaymentGatewayProcess",
    );
    // Modulus requires the header on POST /ecom/v1/checkout, and only there.
    const modulus = JSON.parse(readFileSync(join(ROOT, "presets", "modulus.json"), "utf8"));
    modulus.gateway.upstream = "http://127.0.0.1:9";
    const paths = (await openTestApp({ config: modulus }).call("GET", "/openapi.json")).body.paths;
    const required = (op: { parameters?: { name: string; required: boolean }[] }) =>
      op.parameters?.find((p) => p.name === "Idempotency-Key")?.required;
    expect(required(paths["/ecom/v1/checkout"].post)).toBe(true);
    expect(required(paths["/ecom/v1/checkout/{id}/cancel"].post)).toBe(false);
    // Keygate reads the checkout's body (the branch is named there): a compressed one is its 415.
    const refusalHeaders = (op: { responses: { default: { headers: object } } }) =>
      Object.keys(op.responses.default.headers);
    expect(refusalHeaders(paths["/ecom/v1/checkout"].post)).toContain("Accept-Encoding");
    expect(refusalHeaders(paths["/ecom/v1/checkout/{id}/cancel"].post)).not.toContain(
      "Accept-Encoding",
    );
  });

  test("a gateway route declares the headers Keygate adds to the upstream's answer, and sends those it requires", async () => {
    const upstream = startUpstream();
    try {
      const config = JSON.parse(readFileSync(join(ROOT, "presets", "calmony.json"), "utf8"));
      config.gateway.upstream = upstream.url;
      const { call, live } = openTestApp({ config });
      const spec = (await call("GET", "/openapi.json")).body;
      const declared = spec.paths["/v1/payments"].post.responses.default;
      const ours = new Set(Object.keys(API_HEADERS).map((name) => name.toLowerCase()));
      const pay = {
        key: live,
        body: { amount: 100 },
        headers: { "idempotency-key": "pay-12345678" },
      };
      for (const reply of [
        await call("POST", "/v1/payments", pay),
        await call("POST", "/v1/payments", pay),
      ]) {
        expect(reply.status).toBe(201);
        // The upstream's own headers pass; of Keygate's, only those declared.
        const own = new Headers([...reply.headers].filter(([name]) => ours.has(name)));
        expect(headerFaults(spec, declared, own)).toEqual([]);
      }
      expect(upstream.calls).toHaveLength(1);
      upstream.stop();
      const failed = await call("POST", "/v1/payments", { key: live, body: { amount: 100 } });
      expect(failed.status).toBe(502);
      expect(headerFaults(spec, declared, failed.headers)).toEqual([]);
    } finally {
      upstream.stop();
    }
  });
});

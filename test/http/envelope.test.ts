import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { reportToStderr, requestContext } from "../../src/http/request-context.ts";
import { headPositionOf } from "../../src/store/event-store.ts";
import { codeOf, type Reply, testAppPerTest } from "../support/http.ts";

const setup = testAppPerTest();

describe("request ids and the error envelope", () => {
  test("every response carries X-Request-Id (req_…) and a UUID v4 X-Correlation-Id, errors included", async () => {
    const { call, live } = setup();
    for (const reply of [
      await call("GET", "/v1/me", { key: live }),
      await call("GET", "/v1/me"),
      await call("GET", "/nowhere"),
    ]) {
      expect(reply.headers.get("x-request-id")).toMatch(/^req_[0-9A-Za-z]{22}$/);
      expect(reply.headers.get("x-correlation-id")).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    const a = await call("GET", "/healthz");
    const b = await call("GET", "/healthz");
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  test("every JSON answer, success or error, has one content type", async () => {
    const { call, live } = setup();
    const replies = [
      await call("GET", "/v1/me", { key: live }),
      await call("GET", "/healthz"),
      await call("GET", "/v1/me"),
      await call("GET", "/nowhere"),
      await call("POST", "/v1/api-keys", { key: live, body: { name: 7 } }),
      await call("POST", "/v1/api-keys", {
        key: live,
        body: { name: 7 },
        headers: { "idempotency-key": "short" },
      }),
    ];
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 401, 404, 400, 400]);
    for (const reply of replies)
      expect(reply.headers.get("content-type")).toBe("application/json;charset=utf-8");
  });

  test("a valid inbound correlation id is echoed; anything else is replaced", async () => {
    const { call } = setup();
    const mine = "0b0f2a5e-7d5c-4c2e-9f1a-3b6d8e9c1a2b";
    expect(
      (await call("GET", "/healthz", { headers: { "x-correlation-id": mine } })).headers.get(
        "x-correlation-id",
      ),
    ).toBe(mine);
    const replaced = (
      await call("GET", "/v1/me", { headers: { "x-correlation-id": "not-a-uuid" } })
    ).headers.get("x-correlation-id");
    expect(replaced).not.toBe("not-a-uuid");
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("the envelope's requestId is the response's X-Request-Id", async () => {
    const { call } = setup();
    const reply = await call("GET", "/v1/me");
    expect(reply.body.error.requestId).toBe(reply.headers.get("x-request-id"));
  });

  test("bad input is 400 invalid_request naming the field, never a 500", async () => {
    const { call, live } = setup();
    const unknown = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "k", scopes: ["links:read"], colour: "red" },
    });
    expect([unknown.status, codeOf(unknown), unknown.body.error.param]).toEqual([
      400,
      "invalid_request",
      "colour",
    ]);
    const wrongType = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: 7, scopes: ["links:read"] },
    });
    expect([wrongType.status, wrongType.body.error.param]).toEqual([400, "name"]);
    const badJson = await call("POST", "/v1/api-keys", { key: live, body: "{not json" });
    expect([badJson.status, codeOf(badJson)]).toEqual([400, "invalid_request"]);
    const badQuery = await call("GET", "/v1/api-keys?limit=1000", { key: live });
    expect([badQuery.status, badQuery.body.error.param]).toEqual([400, "limit"]);
    const badExpiry = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "k", scopes: ["links:read"], expires_at: "tomorrow" },
    });
    expect([badExpiry.status, badExpiry.body.error.param]).toEqual([400, "expires_at"]);
    // new Date() would take 30 February as 2 March, and read a time without an offset in the
    // server's own zone: both are refused, and an offset is kept in UTC as every time is.
    for (const expires_at of ["2030-02-30T00:00:00Z", "2030-01-01T00:00:00"]) {
      const refused = await call("POST", "/v1/api-keys", {
        key: live,
        body: { name: "k", scopes: ["links:read"], expires_at },
      });
      expect([refused.status, refused.body.error.param]).toEqual([400, "expires_at"]);
      expect(refused.body.error.message).toContain("with its offset");
    }
    const escaped = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "billing\u001b[2K", scopes: ["links:read"] },
    });
    expect([escaped.status, codeOf(escaped), escaped.body.error.param]).toEqual([
      400,
      "invalid_request",
      "name",
    ]);
    expect(escaped.body.error.message).toBe(
      "name must be plain text: it holds the control character U+001B.",
    );
    const offset = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "k", scopes: ["links:read"], expires_at: "2030-01-01T01:30:00+02:00" },
    });
    expect([offset.status, offset.body.expires_at]).toEqual([200, "2029-12-31T23:30:00.000Z"]);
  });

  test("a value that fits none of a field's forms is told what would fit, not 'Expected union value'", async () => {
    const { call, live, platform } = setup();
    const create = (extra: object) =>
      call("POST", "/v1/api-keys", { key: live, body: { name: "k", scopes: ["*"], ...extra } });
    const said = async (
      reply: Promise<{ body: { error: { message: string; param: string } } }>,
    ) => {
      const { error } = (await reply).body;
      return [error.param, error.message];
    };
    expect(await said(create({ environment: "prod" }))).toEqual([
      "environment",
      'environment: Expected one of "live", "test".',
    ]);
    expect(await said(create({ rate_limit: { limit: 0, window_seconds: 1 } }))).toEqual([
      "rate_limit.limit",
      "rate_limit.limit: Expected integer to be greater or equal to 1.",
    ]);
    expect(await said(create({ rate_limit: 5 }))).toEqual([
      "rate_limit",
      "rate_limit: Expected one of null, object.",
    ]);
    const pairHalf = call("POST", "/v1/keys/verify", { key: live, body: { public_key: "pk" } });
    expect(await said(pairHalf)).toEqual(["secret", "secret: Missing; this field is required."]);
    // An array item is named as the domain's own checks name it: scopes[1], not scopes.1.
    expect((await said(create({ scopes: ["links:read", 7] })))[0]).toBe("scopes[1]");
    expect((await said(create({ scopes: ["links:read", "Links"] })))[0]).toBe("scopes[1]");
    const verifyScopes = call("POST", "/v1/keys/verify", {
      key: live,
      body: { key: live, scopes: ["links:read", "x"] },
    });
    expect(await said(verifyScopes)).toEqual([
      "scopes[1]",
      "scopes[1] must be a scope: resource:action in lowercase (links:read), resource:* or *.",
    ]);
    // A field whose name holds a slash is named as sent (JSON Pointer's ~1 undone).
    expect(await said(create({ "a/b": 1 }))).toEqual([
      "a/b",
      "a/b: Unexpected property (the fields here are name, scopes, environment, entity_id, kind, rate_limit, expires_at).",
    ]);
    // A field the route does not change is told what it does change.
    const entity = call("PATCH", `/v1/entities/${platform}`, { key: live, body: { kind: "x" } });
    expect(await said(entity)).toEqual([
      "kind",
      "kind: Unexpected property (the fields here are name, reference).",
    ]);
    const nested = create({ rate_limit: { limit: 1, window_seconds: 1, burst: 2 } });
    expect(await said(nested)).toEqual([
      "rate_limit.burst",
      "rate_limit.burst: Unexpected property (the fields here are limit, window_seconds).",
    ]);
    // A query's members are its parameters: Stripe's ending_before is not one of ours.
    const before = call("GET", "/v1/api-keys?ending_before=key_x", { key: live });
    expect(await said(before)).toEqual([
      "ending_before",
      "ending_before: Unexpected query parameter (the parameters here are entity_id, status, starting_after, limit).",
    ]);
  });

  test("an empty entity id is refused as empty, not looked up as 'No such entity: .'", async () => {
    const { call, live, internalErrors } = setup();
    for (const [method, path, body, param] of [
      ["GET", "/v1/api-keys?entity_id=", undefined, "entity_id"],
      ["GET", "/v1/users?entity_id=", undefined, "entity_id"],
      ["POST", "/v1/api-keys", { name: "k", scopes: ["links:read"], entity_id: "" }, "entity_id"],
      ["POST", "/v1/entities", { kind: "partner", name: "P", parent_id: "" }, "parent_id"],
      [
        "POST",
        "/v1/users",
        { email: "e@example.com", password: "long enough", entity_id: "" },
        "entity_id",
      ],
    ] as const) {
      const reply = await call(method, path, { key: live, body });
      expect([reply.status, reply.body.error.param, reply.body.error.message]).toEqual([
        400,
        param,
        `${param}: Expected string length greater or equal to 1.`,
      ]);
    }
    expect(internalErrors).toEqual([]);
  });

  test("a string that fails its pattern is told what it should be, in words, not the regular expression", async () => {
    const { call, live, platform } = setup();
    const said = async (path: string) => {
      const { error } = (await call("GET", path, { key: live })).body;
      return [error.param, error.message];
    };
    expect(await said("/v1/events?after=-1")).toEqual([
      "after",
      "after must be a whole number, in digits (at most 15).",
    ]);
    expect(await said("/v1/api-keys?limit=2.5")).toEqual([
      "limit",
      "limit must be a whole number, in digits (at most 15).",
    ]);
    expect(await said("/v1/api-keys?starting_after=ent_1")).toEqual([
      "starting_after",
      "starting_after must be an API key id (key_…).",
    ]);
    expect(await said(`/v1/entities/${platform}/children?starting_after=key_1`)).toEqual([
      "starting_after",
      "starting_after must be an entity id (ent_…).",
    ]);
    expect(await said("/v1/users?starting_after=x")).toEqual([
      "starting_after",
      "starting_after must be a user id (usr_…).",
    ]);
  });

  test("a path parameter whose percent-encoding is broken, or a query parameter given twice, is 400 naming it", async () => {
    const { call, live, internalErrors } = setup();
    for (const [method, path] of [
      ["GET", "/v1/api-keys/%ZZ"],
      ["GET", "/v1/entities/%E0%A4%A"],
      ["POST", "/v1/api-keys/%ZZ/revoke"],
    ] as const) {
      const reply = await call(method, path, { key: live });
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        "id",
      ]);
      expect(reply.body.error.message).toBe("id: not valid percent-encoding.");
    }
    // A query parameter given twice would be read one way silently: refused, naming it.
    for (const path of ["/v1/api-keys?limit=1&limit=2", "/v1/events?after=1&after=2"]) {
      const twice = await call("GET", path, { key: live });
      const name = path.includes("limit") ? "limit" : "after";
      expect([twice.status, codeOf(twice), twice.body.error.param]).toEqual([
        400,
        "invalid_request",
        name,
      ]);
      expect(twice.body.error.message).toBe(`${name} is given more than once: send it once.`);
    }
    // Well-formed encoding is decoded as usual.
    const encoded = await call("GET", "/v1/api-keys/key_%41bc", { key: live });
    expect([encoded.status, encoded.body.error.message]).toEqual([
      404,
      "No such API key: key_Abc.",
    ]);
    expect(internalErrors).toEqual([]);
  });

  test("an unknown route is 404 resource_missing in the envelope, naming the method and path", async () => {
    const { call } = setup();
    const reply = await call("GET", "/v2/everything");
    expect([reply.status, codeOf(reply), reply.body.error.type]).toEqual([
      404,
      "resource_missing",
      "invalid_request",
    ]);
    expect(reply.body.error.message).toBe("No route answers GET /v2/everything.");
    expect(reply.headers.get("allow")).toBeNull();
  });

  test("no CORS: a browser's preflight is 404 with no Access-Control-* header, and no answer carries one", async () => {
    const { call, live } = setup();
    const origin = { origin: "https://dashboard.example.com" };
    const preflight = await call("OPTIONS", "/v1/api-keys", {
      headers: { ...origin, "access-control-request-method": "POST" },
    });
    const answered = await call("GET", "/v1/me", { key: live, headers: origin });
    expect([preflight.status, answered.status]).toEqual([404, 200]);
    for (const reply of [preflight, answered])
      expect(
        [...reply.headers.keys()].filter((name) => name.startsWith("access-control-")),
      ).toEqual([]);
  });

  test("a known path asked with another method: 404 naming the methods it takes, and Allow", async () => {
    const { call, live } = setup();
    const me = await call("POST", "/v1/me", { key: live });
    expect([me.status, codeOf(me), me.body.error.message]).toEqual([
      404,
      "resource_missing",
      "No route answers POST /v1/me; /v1/me takes GET, HEAD.",
    ]);
    expect(me.headers.get("allow")).toBe("GET, HEAD");
    const key = await call("DELETE", "/v1/api-keys/key_abc", { key: live });
    expect([key.status, key.body.error.message, key.headers.get("allow")]).toEqual([
      404,
      "No route answers DELETE /v1/api-keys/key_abc; /v1/api-keys/key_abc takes GET, HEAD, PATCH.",
      "GET, HEAD, PATCH",
    ]);
    // One segment too many is no route at all.
    const deeper = await call("POST", "/v1/api-keys/key_abc/rotate/now", { key: live });
    expect([deeper.body.error.message, deeper.headers.get("allow")]).toEqual([
      "No route answers POST /v1/api-keys/key_abc/rotate/now.",
      null,
    ]);
  });

  test("the path a 404 repeats is cut at 200 characters, and a key in it is masked", async () => {
    const { call, live } = setup();
    const long = await call("GET", `/v2/${"a".repeat(5000)}`);
    expect(long.body.error.message).toBe(`No route answers GET /v2/${"a".repeat(196)}….`);
    const pasted = await call("GET", `/v2/keys/${live}`);
    expect(pasted.body.error.message).not.toContain(live);
    expect(pasted.body.error.message).toContain(`/v2/keys/sk_live_••••${live.slice(-4)}`);
  });

  test("an unexpected failure is 500 api_error: reported, its details never sent", async () => {
    const reported: unknown[] = [];
    const app = new Elysia()
      .use(requestContext({}, (error) => reported.push(error)))
      .get("/boom", () => {
        throw new Error("database password is hunter2");
      });
    const response = await app.handle(new Request("http://localhost/boom"));
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(response.status).toBe(500);
    expect(body.error).toMatchObject({
      type: "api_error",
      code: "api_error",
      message: "An internal error occurred.",
    });
    expect(JSON.stringify(body)).not.toContain("hunter2");
    expect(reported).toHaveLength(1);
  });

  test("a key sent where an id or a name belongs is never written back whole: masked in the message and the param", async () => {
    const { call, live } = setup();
    const masked = `${live.slice(0, 8)}••••${live.slice(-4)}`;
    const asked = [
      await call("GET", `/v1/api-keys/${live}`, { key: live }),
      // Pasted as a member's or a query parameter's name: the error names it in `param` too.
      await call("POST", "/v1/keys/verify", { key: live, body: { key: live, [live]: 1 } }),
      await call("POST", "/v1/api-keys", {
        key: live,
        body: { name: "k", scopes: ["links:read"], [live]: true },
      }),
      await call("GET", `/v1/api-keys?${live}=1`, { key: live }),
      await call("GET", `/v1/entities/${live}`, { key: live }),
      await call("GET", `/v1/api-keys?entity_id=${live}`, { key: live }),
      await call("POST", "/v1/api-keys", {
        key: live,
        body: { name: "k", scopes: ["links:read"], entity_id: live },
      }),
      await call("POST", "/v1/api-keys", { key: live, body: { name: "k", scopes: [live] } }),
    ];
    for (const reply of asked) {
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.text).not.toContain(live);
      expect(reply.body.error.message).toContain(masked);
    }
    for (const reply of asked.slice(1, 4)) expect(reply.body.error.param).toBe(masked);
  });

  test("a key sent as text that would be kept — a name, reference, reason, email or Idempotency-Key — is 400 and nothing is written", async () => {
    const t = setup();
    const { call, live } = t;
    const created = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "k", scopes: ["links:read"] },
    });
    const entity = await call("POST", "/v1/entities", {
      key: live,
      body: { kind: "merchant", name: "m", parent_id: t.platform },
    });
    const user = await call("POST", "/v1/users", {
      key: live,
      body: { email: "ops@example.com", password: "a long enough password", entity_id: t.platform },
    });
    for (const reply of [created, entity, user]) expect(reply.status).toBe(200);
    const head = headPositionOf(t.kg.db.sql);
    const keyBody = { name: "k", scopes: ["links:read"] };
    const refused: [Reply, string][] = [
      [await call("POST", "/v1/api-keys", { key: live, body: { ...keyBody, name: live } }), "name"],
      [
        await call("PATCH", `/v1/api-keys/${created.body.id}`, {
          key: live,
          body: { name: `old ${live}` },
        }),
        "name",
      ],
      [
        await call("POST", `/v1/api-keys/${created.body.id}/revoke`, {
          key: live,
          body: { reason: `leaked: ${live}` },
        }),
        "reason",
      ],
      [
        await call("POST", "/v1/entities", {
          key: live,
          body: { kind: "merchant", name: "m2", parent_id: t.platform, reference: live },
        }),
        "reference",
      ],
      [
        await call("PATCH", `/v1/entities/${entity.body.id}`, { key: live, body: { name: live } }),
        "name",
      ],
      [
        await call("POST", "/v1/users", {
          key: live,
          body: {
            email: `${live}@example.com`,
            password: "a long enough password",
            entity_id: t.platform,
          },
        }),
        "email",
      ],
      [
        await call("PATCH", `/v1/users/${user.body.id}`, {
          key: live,
          body: { email: `${live}@example.com` },
        }),
        "email",
      ],
    ];
    for (const [reply, param] of refused) {
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        param,
      ]);
      expect(reply.body.error.message).toContain("must not hold an API key");
      expect(reply.text).not.toContain(live);
    }
    const asIdempotencyKey = await call("POST", "/v1/api-keys", {
      key: live,
      body: keyBody,
      headers: { "idempotency-key": live },
    });
    expect([asIdempotencyKey.status, codeOf(asIdempotencyKey)]).toEqual([
      400,
      "idempotency_key_invalid",
    ]);
    expect(asIdempotencyKey.text).not.toContain(live);
    expect(headPositionOf(t.kg.db.sql)).toBe(head);
  });

  test("the stderr report of an unexpected failure masks a key its message holds", () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof write;
    try {
      reportToStderr(new Error(`lookup failed for sk_live_${"a".repeat(28)}WXYZ`), "req_1");
    } finally {
      process.stderr.write = write;
    }
    expect(written.join("")).toContain("sk_live_••••WXYZ");
    expect(written.join("")).not.toContain("a".repeat(28));
  });
});

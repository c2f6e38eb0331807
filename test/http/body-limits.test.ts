import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { bodyFault, bodyLimits, faultAt, MAX_BODY_DEPTH } from "../../src/http/body-limits.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { chunkedPost, codeOf, readReply, testApp } from "../support/http.ts";

/** `depth` arrays, one inside the other, around `inner`. */
const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth);

describe("bodyFault", () => {
  test("counts arrays and objects, not scalars", () => {
    expect(bodyFault("text", 0)).toBeUndefined();
    expect(bodyFault(null, 0)).toBeUndefined();
    expect(bodyFault({}, 1)).toBeUndefined();
    expect(bodyFault({ a: [{ b: 1 }] }, 3)).toBeUndefined();
    expect(bodyFault({ a: [{ b: {} }] }, 3)).toBe("too_deep");
  });

  test("exactly the limit passes, one more does not, and a million levels are walked without recursion", () => {
    expect(bodyFault(JSON.parse(nested(MAX_BODY_DEPTH)), MAX_BODY_DEPTH)).toBeUndefined();
    expect(bodyFault(JSON.parse(nested(MAX_BODY_DEPTH + 1)), MAX_BODY_DEPTH)).toBe("too_deep");
    let deep: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(bodyFault(deep, 1_000_001)).toBeUndefined();
  });

  test("an unpaired surrogate in a string or a member name is ill-formed text, found with its path; a pair is text", () => {
    const lone = JSON.parse('{"a":[{"ok":"\\ud83d\\ude00","note":"x\\ud800"}]}');
    expect(bodyFault(lone, MAX_BODY_DEPTH)).toBe("ill_formed_text");
    expect(faultAt(lone, MAX_BODY_DEPTH, "ill_formed_text")).toBe("a[0].note");
    const key = JSON.parse('{"\\udfff":1}');
    expect(bodyFault(key, MAX_BODY_DEPTH)).toBe("ill_formed_text");
    expect(faultAt(key, MAX_BODY_DEPTH, "ill_formed_text")).toBe("\uFFFD");
    expect(bodyFault(JSON.parse('["\\ud83d\\ude00"]'), MAX_BODY_DEPTH)).toBeUndefined();
  });

  test("a member named __proto__, at any depth, is found with its path; the word as a value is text", () => {
    const top = JSON.parse('{"__proto__":{"scopes":["*"]},"name":"x"}');
    expect(bodyFault(top, MAX_BODY_DEPTH)).toBe("proto_member");
    expect(faultAt(top, MAX_BODY_DEPTH, "proto_member")).toBe("__proto__");
    const nested = JSON.parse('{"rate_limit":{"__proto__":{"limit":1}}}');
    expect(faultAt(nested, MAX_BODY_DEPTH, "proto_member")).toBe("rate_limit.__proto__");
    expect(bodyFault({ name: "__proto__" }, MAX_BODY_DEPTH)).toBeUndefined();
  });
});

describe("request bodies on every route", () => {
  test("a body nested thousands deep is 400 invalid_request, not a 500 (with or without Idempotency-Key)", async () => {
    const { call, live, internalErrors } = testApp();
    const withAndWithoutKey: Record<string, string>[] = [
      {},
      { "idempotency-key": "deep-body-0001" },
    ];
    for (const headers of withAndWithoutKey)
      for (const body of [nested(100_000), `{"name":${nested(100_000)},"scopes":[]}`]) {
        const reply = await call("POST", "/v1/api-keys", { key: live, headers, body });
        expect([reply.status, codeOf(reply)]).toEqual([400, "invalid_request"]);
        expect(reply.body.error.message).toBe(
          body.startsWith("[")
            ? "The body must be a JSON object, not an array."
            : `The body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels.`,
        );
      }
    // One level under the limit is only a wrong type: validation names the field.
    const shallow = await call("POST", "/v1/api-keys", {
      key: live,
      body: `{"name":${nested(MAX_BODY_DEPTH - 1)},"scopes":[]}`,
    });
    expect([shallow.status, shallow.body.error.param]).toEqual([400, "name"]);
    expect(internalErrors).toEqual([]);
  });

  test("a body that is JSON but not an object is 400 saying what it is, and changes nothing (a rotation sent 5 used to rotate)", async () => {
    const { call, live, kg, internalErrors } = testApp();
    const created = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "target", scopes: ["links:read"] },
    });
    const id = created.body.id as string;
    const head = kg.store.headPosition();
    const cases: [string, string, string][] = [
      ["POST", "/v1/api-keys", "[1,2]"],
      ["POST", `/v1/api-keys/${id}/rotate`, "5"],
      ["POST", `/v1/api-keys/${id}/rotate`, "null"],
      ["POST", `/v1/api-keys/${id}/revoke`, '"soon"'],
      ["PATCH", `/v1/api-keys/${id}`, '[{"name":"x"}]'],
      ["POST", "/v1/entities", "true"],
      ["POST", "/v1/auth/login", "[]"],
    ];
    const kinds: Record<string, string> = {
      "[": "an array",
      "5": "a number",
      n: "null",
      '"': "a string",
      t: "true",
    };
    for (const [method, path, body] of cases)
      for (const headers of [{}, { "idempotency-key": `not-an-object-${body.length}` }] as Record<
        string,
        string
      >[]) {
        const reply = await call(method, path, { key: live, body, headers });
        expect([reply.status, codeOf(reply), reply.body.error.message]).toEqual([
          400,
          "invalid_request",
          `The body must be a JSON object, not ${kinds[body[0] as string]}.`,
        ]);
      }
    expect(kg.store.headPosition()).toBe(head);
    const me = await call("GET", "/v1/me", { key: created.body.secret as string });
    expect(me.status).toBe(200);
    expect(internalErrors).toEqual([]);
  });

  test("no body: a route whose body is optional runs; one that needs a body says so, not 'not valid JSON'", async () => {
    const { app, call, live, internalErrors } = testApp();
    const created = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "target", scopes: ["links:read"] },
    });
    const post = async (path: string, headers: Record<string, string>) =>
      readReply(
        await app.handle(
          new Request(`http://localhost${path}`, {
            method: "POST",
            headers: { authorization: `Bearer ${live}`, ...headers },
          }),
        ),
      );
    const bodiless: Record<string, string>[] = [
      {},
      { "content-type": "application/json" },
      { "content-length": "0", "content-type": "application/json" },
      { "idempotency-key": "no-body-at-all-1" },
    ];
    for (const headers of bodiless) {
      const rotated = await post(`/v1/api-keys/${created.body.id}/rotate`, headers);
      expect([rotated.status, rotated.body.object]).toEqual([200, "api_key"]);
      // Key creation too: its body once said `name` was missing, because Elysia's t.Integer
      // gave the rate limit a default of 0 and so built a body from nothing.
      for (const path of ["/v1/auth/login", "/v1/api-keys"]) {
        const refused = await post(path, headers);
        expect([refused.status, refused.body.error.message]).toEqual([
          400,
          "The body is missing: this route takes a JSON object.",
        ]);
      }
    }
    expect(internalErrors).toEqual([]);
  });

  test("a string that is not well-formed Unicode is 400 naming its field, and nothing is written", async () => {
    const { call, live, kg, internalErrors } = testApp();
    const head = kg.store.headPosition();
    const reply = await call("POST", "/v1/api-keys", {
      key: live,
      body: '{"name":"till\\ud800","scopes":["links:read"]}',
    });
    expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
      400,
      "invalid_request",
      "name",
    ]);
    expect(reply.body.error.message).toBe(
      "name is not well-formed Unicode text: it holds an unpaired surrogate (such as \\ud800), which has no UTF-8 form.",
    );
    // An array item is named as the schema's own errors name it: scopes[1], not scopes.1.
    const inArray = await call("POST", "/v1/api-keys", {
      key: live,
      body: '{"name":"till","scopes":["links:read","\\udfff"]}',
    });
    expect([inArray.status, inArray.body.error.param]).toEqual([400, "scopes[1]"]);
    expect(kg.store.headPosition()).toBe(head);
    const paired = await call("POST", "/v1/api-keys", {
      key: live,
      body: '{"name":"till \\ud83d\\ude00","scopes":["links:read"]}',
    });
    expect([paired.status, paired.body.name]).toEqual([200, "till \u{1F600}"]);
    expect(internalErrors).toEqual([]);
  });

  test("a member named __proto__ is 400 as the unexpected property it is, not read as a prototype nor ignored; nothing is written", async () => {
    const { call, live, kg, internalErrors } = testApp();
    const head = kg.store.headPosition();
    for (const [body, field] of [
      [
        '{"__proto__":{"rate_limit":{"limit":7,"window_seconds":1}},"name":"x","scopes":["links:read"]}',
        "__proto__",
      ],
      [
        '{"name":"x","scopes":["links:read"],"rate_limit":{"__proto__":{},"limit":5,"window_seconds":1}}',
        "rate_limit.__proto__",
      ],
    ] as const) {
      const reply = await call("POST", "/v1/api-keys", { key: live, body });
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        field,
      ]);
      expect(reply.body.error.message).toBe(`${field}: Unexpected property.`);
    }
    expect(kg.store.headPosition()).toBe(head);
    expect(internalErrors).toEqual([]);
  });

  test("a member given twice in one object is 400 naming it, whichever reader would count which; nothing is written", async () => {
    const { call, live, kg, internalErrors } = testApp();
    const head = kg.store.headPosition();
    for (const [body, field, headers] of [
      ['{"name":"x","scopes":["links:read"],"scopes":["*"]}', "scopes", {}],
      [
        '{"name":"x","scopes":["links:read"],"rate_limit":{"limit":5,"window_seconds":1,"\u006cimit":500}}',
        "rate_limit.limit",
        { "idempotency-key": "twice-member-1" },
      ],
    ] as const) {
      const reply = await call("POST", "/v1/api-keys", { key: live, body, headers });
      expect([reply.status, codeOf(reply), reply.body.error.param]).toEqual([
        400,
        "invalid_request",
        field,
      ]);
      expect(reply.body.error.message).toBe(
        `${field} is given twice in its object; name each member once (readers disagree on which of the two counts).`,
      );
    }
    // Settled before authentication, as every other way a body cannot be read.
    const anonymous = await call("POST", "/v1/auth/login", { body: '{"email":"a","email":"b"}' });
    expect([anonymous.status, anonymous.body.error.param]).toEqual([400, "email"]);
    expect(kg.store.headPosition()).toBe(head);
    expect(internalErrors).toEqual([]);
  });

  test("bytes that are not UTF-8 are 400, not stored with U+FFFD; any Content-Type is read as JSON", async () => {
    const { app, live, kg, internalErrors } = testApp();
    const post = async (bytes: Uint8Array, headers: Record<string, string> = {}) =>
      readReply(
        await app.handle(
          new Request("http://localhost/v1/api-keys", {
            method: "POST",
            headers: {
              authorization: `Bearer ${live}`,
              "content-length": String(bytes.length),
              ...headers,
            },
            body: bytes,
          }),
        ),
      );
    const json = (text: string) => new TextEncoder().encode(text);
    // "café" in Latin-1: 0xE9 is no UTF-8 sequence.
    const latin1 = Uint8Array.from([
      ...json('{"name":"caf'),
      0xe9,
      ...json('","scopes":["links:read"]}'),
    ]);
    const head = kg.store.headPosition();
    for (const headers of [
      { "content-type": "application/json; charset=latin1" } as Record<string, string>,
      { "content-type": "application/json", "idempotency-key": "latin-1-body-0001" },
    ]) {
      const refused = await post(latin1, headers);
      expect([refused.status, codeOf(refused)]).toEqual([400, "invalid_request"]);
      expect(refused.body.error.message).toStartWith("The body is not UTF-8 text");
    }
    expect(kg.store.headPosition()).toBe(head);
    // UTF-8 with a byte-order mark, sent as text/plain (curl -d sends a form type): read as JSON.
    const bom = Uint8Array.from([
      0xef,
      0xbb,
      0xbf,
      ...json('{"name":"café","scopes":["links:read"]}'),
    ]);
    const accepted = await post(bom, { "content-type": "text/plain" });
    expect([accepted.status, accepted.body.name]).toEqual([200, "café"]);
    const form = await post(json("name=x&scopes=links:read"), {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect([form.status, form.body.error.message]).toEqual([400, "The body is not valid JSON."]);
    expect(internalErrors).toEqual([]);
  });

  test("a compressed body is 415 unsupported_content_encoding with Accept-Encoding: identity, not 'not UTF-8'; identity is no encoding", async () => {
    const { app, live, kg, internalErrors } = testApp();
    const post = async (bytes: Uint8Array, headers: Record<string, string>) =>
      readReply(
        await app.handle(
          new Request("http://localhost/v1/api-keys", {
            method: "POST",
            headers: { authorization: `Bearer ${live}`, ...headers },
            body: bytes,
          }),
        ),
      );
    const json = new TextEncoder().encode('{"name":"zipped","scopes":["links:read"]}');
    const head = kg.store.headPosition();
    for (const [bytes, headers] of [
      [Bun.gzipSync(json), { "content-encoding": "gzip" }],
      [Bun.gzipSync(json), { "content-encoding": "GZIP", "idempotency-key": "zipped-body-0001" }],
      [Bun.deflateSync(json), { "content-encoding": "deflate" }],
      // Uncompressed bytes labelled compressed: refused all the same, by what they say they are.
      [json, { "content-encoding": "identity, br" }],
    ] as [Uint8Array, Record<string, string>][]) {
      const refused = await post(bytes, headers);
      expect([refused.status, codeOf(refused)]).toEqual([415, "unsupported_content_encoding"]);
      expect(refused.body.error.type).toBe("invalid_request");
      expect(refused.body.error.message).toContain("send it uncompressed");
      expect(refused.headers.get("accept-encoding")).toBe("identity");
    }
    expect(kg.store.headPosition()).toBe(head);
    const plain = await post(json, { "content-encoding": "identity" });
    expect([plain.status, plain.body.name]).toEqual([200, "zipped"]);
    expect(plain.headers.get("accept-encoding")).toBeNull();
    expect(internalErrors).toEqual([]);
  });

  test("a body over gateway.max_body_bytes is 413 request_too_large, by Content-Length or as it arrives", async () => {
    const { app, call, live, kg } = testApp({ config: { gateway: { max_body_bytes: 64 } } });
    const big = JSON.stringify({ name: "x".repeat(100), scopes: ["links:read"] });
    const keysBefore = kg.keyIndex.size;
    // No Content-Length (what app.handle sends): read up to the limit, then refused.
    const streamed = await call("POST", "/v1/api-keys", { key: live, body: big });
    expect([streamed.status, codeOf(streamed)]).toEqual([413, "request_too_large"]);
    expect(streamed.body.error.message).toBe("The request body is over the limit of 64 bytes.");
    // A declared length over the limit is refused before the body is read.
    const declared = await readReply(
      await app.handle(
        new Request("http://localhost/v1/api-keys", {
          method: "POST",
          headers: {
            authorization: `Bearer ${live}`,
            "content-type": "application/json",
            "content-length": String(big.length),
          },
          body: big,
        }),
      ),
    );
    expect([declared.status, codeOf(declared)]).toEqual([413, "request_too_large"]);
    expect(kg.keyIndex.size).toBe(keysBefore);
    // Whatever its type: a chunked text body is read no further than the limit either.
    const chunk = new TextEncoder().encode("x".repeat(48));
    const text = await readReply(
      await app.handle(
        chunkedPost(
          "http://localhost/v1/api-keys",
          { authorization: `Bearer ${live}`, "content-type": "text/plain" },
          Array(4).fill(chunk),
        ),
      ),
    );
    expect([text.status, codeOf(text)]).toEqual([413, "request_too_large"]);
    // Under the limit, the same route works.
    const small = await call("POST", "/v1/api-keys", {
      key: live,
      body: { name: "ok", scopes: ["links:read"] },
    });
    expect(small.status).toBe(200);
  });

  test("a chunked body far over the limit is refused once past it, read no further and cancelled", async () => {
    const { app, live } = testApp({ config: { gateway: { max_body_bytes: 1024 } } });
    let pulled = 0;
    let cancelled = false;
    // 1 MiB in 256-byte chunks (as long as a client cares to send: it could be 10 GiB).
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 256;
        controller.enqueue(new Uint8Array(256).fill(0x20));
        if (pulled >= 1024 * 1024) controller.close();
      },
      cancel() {
        cancelled = true;
      },
    });
    const reply = await readReply(
      await app.handle(
        new Request("http://localhost/v1/api-keys", {
          method: "POST",
          headers: { authorization: `Bearer ${live}`, "content-type": "application/json" },
          body: endless,
          duplex: "half",
        } as RequestInit),
      ),
    );
    expect([reply.status, codeOf(reply)]).toEqual([413, "request_too_large"]);
    // Memory stays bounded by the limit, not by what the client keeps sending.
    expect(pulled).toBeLessThanOrEqual(2048);
    expect(cancelled).toBe(true);
  });

  test("a route that streams its body on (a gateway route) is left to read it itself", async () => {
    const app = new Elysia()
      .use(requestContext({}, () => {}))
      .use(bodyLimits(64, (method, route) => `${method} ${route}` === "POST /stream"))
      .post("/stream", ({ request }) => ({ untouched: !request.bodyUsed }), { parse: () => null })
      .post("/read", () => ({ read: true }), { parse: () => null });
    const chunked = (path: string) =>
      app.handle(
        chunkedPost(`http://localhost${path}`, { "content-type": "application/octet-stream" }, [
          new Uint8Array(200),
        ]),
      );
    const streamed = await chunked("/stream");
    expect([streamed.status, await streamed.json()]).toEqual([200, { untouched: true }]);
    const read = await readReply(await chunked("/read"));
    expect([read.status, codeOf(read)]).toEqual([413, "request_too_large"]);
  });
});

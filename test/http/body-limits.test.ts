import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { bodyLimits, MAX_BODY_DEPTH, nestsDeeperThan } from "../../src/http/body-limits.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { chunkedPost, codeOf, readReply, testApp } from "../support/http.ts";

/** `depth` arrays, one inside the other, around `inner`. */
const nested = (depth: number, inner = "") => "[".repeat(depth) + inner + "]".repeat(depth);

describe("nestsDeeperThan", () => {
  test("counts arrays and objects, not scalars", () => {
    expect(nestsDeeperThan("text", 0)).toBe(false);
    expect(nestsDeeperThan(null, 0)).toBe(false);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  test("exactly the limit passes, one more does not, and a million levels are walked without recursion", () => {
    expect(nestsDeeperThan(JSON.parse(nested(MAX_BODY_DEPTH)), MAX_BODY_DEPTH)).toBe(false);
    expect(nestsDeeperThan(JSON.parse(nested(MAX_BODY_DEPTH + 1)), MAX_BODY_DEPTH)).toBe(true);
    let deep: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, 1_000_001)).toBe(false);
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
          `The body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels.`,
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

  test("a route that streams its body on (a gateway route) is left to read it itself", async () => {
    const app = new Elysia()
      .use(requestContext({}, () => {}))
      .use(bodyLimits(64, new Set(["POST /stream"])))
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

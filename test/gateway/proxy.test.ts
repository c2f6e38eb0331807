/** The gateway's header rules (RFC 9110 hop-by-hop, credentials, identity, X-Forwarded-For), and which failed fetches cannot have delivered the request. */
import { describe, expect, test } from "bun:test";
import {
  clientUrlOf,
  credentialHeadersOf,
  forClient,
  identityHeaders,
  neverDelivered,
  upstreamHeaders,
} from "../../src/gateway/proxy.ts";

const UPSTREAM = "http://127.0.0.1:4000";

const identity = identityHeaders("key_1", { id: "ent_b", path: ["ent_a", "ent_b"] }, false, [
  "links:read",
  "links:write",
]);

test("upstream headers: identity set, credentials, hop-by-hop and Expect gone, X-Forwarded-For appended when asked, the client's own connection headers never passed", () => {
  const inbound = new Headers({
    authorization: "Bearer sk_live_x",
    "x-api-key": "sk_live_y",
    connection: "close, x-hop",
    "x-hop": "1",
    te: "trailers",
    "transfer-encoding": "chunked",
    // Met at this hop: the server answered 100 Continue and read the body (as nginx drops it).
    expect: "100-continue",
    "x-keygate-scopes": "*",
    "x-forwarded-for": "203.0.113.1",
    host: "api.example",
    "x-forwarded-proto": "http",
    // Headers an upstream believes from its proxy: a client's own never pass.
    forwarded: "for=127.0.0.1;proto=https",
    "x-real-ip": "127.0.0.1",
    "x-forwarded-port": "443",
    "x-forwarded-prefix": "/admin",
    x_forwarded_host: "evil.example",
    accept: "application/json",
  });
  const common = {
    proto: "https",
    credentialHeaders: credentialHeadersOf("X-Api-Key"),
    requestId: "req_1",
    correlationId: "c",
  };
  const sent = upstreamHeaders(inbound, { identity, clientAddress: "198.51.100.7", ...common });
  expect(Object.fromEntries(sent)).toEqual({
    accept: "application/json",
    "x-forwarded-for": "203.0.113.1, 198.51.100.7",
    "x-forwarded-host": "api.example",
    "x-forwarded-proto": "https",
    "x-keygate-key-id": "key_1",
    "x-keygate-entity-id": "ent_b",
    "x-keygate-entity-path": "ent_a/ent_b",
    "x-keygate-livemode": "false",
    "x-keygate-scopes": "links:read links:write",
    "x-request-id": "req_1",
    "x-correlation-id": "c",
  });
  // With forwarded_for off the upstream gets no address at all: not the client's claim either
  // (until 2026-11-24 it passed, and an upstream trusting its proxy took it for the client's).
  const without = upstreamHeaders(inbound, { identity, clientAddress: undefined, ...common });
  expect(without.get("x-forwarded-for")).toBeNull();
  expect([...without.keys()].filter((name) => /forward|real-ip/.test(name))).toEqual([
    "x-forwarded-host",
    "x-forwarded-proto",
  ]);
});

describe("downstream: hop-by-hop headers and those Connection names are removed", () => {
  const upstreamAnswer = () =>
    new Response("body", {
      status: 201,
      statusText: "Made",
      headers: {
        connection: "keep-alive, x-internal",
        "keep-alive": "timeout=5",
        "x-internal": "secret",
        "content-type": "application/json",
        "x-custom": "kept",
      },
    });
  const kept = { "content-type": "application/json", "x-custom": "kept" };

  test("in place when the headers can change: the same response goes on", () => {
    const response = upstreamAnswer();
    expect(forClient(response, UPSTREAM, {})).toBe(response);
    expect(Object.fromEntries(response.headers)).toEqual(kept);
  });

  test("on a copy with the same status and body when they cannot (Deno's fetch responses)", async () => {
    const response = upstreamAnswer();
    const immutable = new Proxy(response.headers, {
      get(target, name) {
        if (name === "delete")
          return () => {
            throw new TypeError("Cannot change headers: headers are immutable");
          };
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    Object.defineProperty(response, "headers", { value: immutable });
    const passed = forClient(response, UPSTREAM, {});
    expect(passed).not.toBe(response);
    expect([passed.status, passed.statusText]).toEqual([201, "Made"]);
    expect(Object.fromEntries(passed.headers)).toEqual(kept);
    expect(await passed.text()).toBe("body");
  });

  test("a response with nothing to remove goes on as it is", () => {
    const response = new Response("x", { headers: { "x-custom": "kept" } });
    expect(forClient(response, UPSTREAM, {})).toBe(response);
  });
});

describe("URLs naming the upstream", () => {
  test("an absolute URL under the upstream's base becomes the client's path; anything else is left", () => {
    expect(clientUrlOf("http://127.0.0.1:4000/links/lnk_1?x=1#top", UPSTREAM)).toBe(
      "/links/lnk_1?x=1#top",
    );
    expect(clientUrlOf("http://127.0.0.1:4000", UPSTREAM)).toBe("/");
    expect(clientUrlOf("HTTP://127.0.0.1:4000/a", UPSTREAM)).toBe("/a");
    const base = "http://10.0.0.2:8080/api";
    expect(clientUrlOf("http://10.0.0.2:8080/api/links/1", base)).toBe("/links/1");
    expect(clientUrlOf("http://10.0.0.2:8080/apix/1", base)).toBeUndefined();
    expect(clientUrlOf("http://10.0.0.2:8080/other", base)).toBeUndefined();
    expect(clientUrlOf("https://pay.example.com/links/1", UPSTREAM)).toBeUndefined();
    expect(clientUrlOf("http://127.0.0.1:40001/links/1", UPSTREAM)).toBeUndefined();
    expect(clientUrlOf("/links/1", UPSTREAM)).toBeUndefined();
    expect(clientUrlOf("http://[bad", UPSTREAM)).toBeUndefined();
  });

  test("Location and Content-Location are rewritten on the response the client gets", () => {
    const response = new Response(null, {
      status: 201,
      headers: {
        location: "http://127.0.0.1:4000/links/lnk_1",
        "content-location": "https://elsewhere.example/x",
      },
    });
    const passed = forClient(response, UPSTREAM, {});
    expect(passed.headers.get("location")).toBe("/links/lnk_1");
    expect(passed.headers.get("content-location")).toBe("https://elsewhere.example/x");
  });
});

describe("whether a failed fetch can have delivered the request", () => {
  test("no connection, no name, no route, or a refused certificate: never delivered; a broken connection: maybe", async () => {
    const refused = await fetch("http://127.0.0.1:9/").catch((error: unknown) => error);
    expect(neverDelivered(refused)).toBe(true);
    for (const code of ["ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])
      expect([code, neverDelivered({ code })]).toEqual([code, true]);
    for (const code of [
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "CERT_HAS_EXPIRED",
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ])
      expect([code, neverDelivered({ code })]).toEqual([code, true]);
    // Sent, then broken: the upstream may have acted on it.
    for (const error of [{ code: "ECONNRESET" }, new Error("socket closed"), null, "boom"])
      expect(neverDelivered(error)).toBe(false);
  });
});

/** Which methods a route table answers at a path (the 404 of a known path names them). */
import { expect, test } from "bun:test";
import { routeMethodsOf } from "../../src/http/route-methods.ts";

const methodsAt = routeMethodsOf([
  { method: "GET", path: "/v1/api-keys/:id" },
  { method: "PATCH", path: "/v1/api-keys/:id" },
  { method: "POST", path: "/v1/api-keys/:id/rotate" },
  { method: "post", path: "/checkout/*" },
  { method: "GET", path: "/v1/me" },
]);

test("a parameter matches one non-empty segment; HEAD comes with GET", () => {
  expect(methodsAt("/v1/api-keys/key_1")).toEqual(["GET", "HEAD", "PATCH"]);
  expect(methodsAt("/v1/api-keys/key_1/rotate")).toEqual(["POST"]);
  expect(methodsAt("/v1/api-keys/")).toEqual([]);
  expect(methodsAt("/v1/api-keys")).toEqual([]);
  expect(methodsAt("/v1/api-keys/key_1/rotate/again")).toEqual([]);
});

test("a literal matches itself only; a wildcard matches the rest of the path", () => {
  expect(methodsAt("/v1/me")).toEqual(["GET", "HEAD"]);
  expect(methodsAt("/v1/mine")).toEqual([]);
  expect(methodsAt("/checkout/a/b")).toEqual(["POST"]);
  expect(methodsAt("/checkout/")).toEqual(["POST"]);
  expect(methodsAt("/checkout")).toEqual([]);
  expect(methodsAt("/nowhere")).toEqual([]);
});

test("a trailing slash is ignored, as the router serves it (GET /v1/me/ is GET /v1/me)", () => {
  expect(methodsAt("/v1/me/")).toEqual(["GET", "HEAD"]);
  expect(methodsAt("/v1/api-keys/key_1/")).toEqual(["GET", "HEAD", "PATCH"]);
  expect(methodsAt("/v1/me//")).toEqual([]);
});

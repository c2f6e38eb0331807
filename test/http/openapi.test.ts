import { describe, expect, test } from "bun:test";
import { testAppPerTest } from "../support/http.ts";

const openTestApp = testAppPerTest();

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
});

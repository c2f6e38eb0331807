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

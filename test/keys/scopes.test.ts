import { describe, expect, test } from "bun:test";
import { findMalformedScope, normaliseScopes, scopeGrants } from "../../src/keys/scopes.ts";

describe("scopes", () => {
  test("the grammar is resource:action, resource:* or *", () => {
    expect(findMalformedScope(["links:read", "links:*", "*", "api_keys:write"])).toBeUndefined();
    expect(findMalformedScope(["links:read", "links"])).toEqual({ index: 1, scope: "links" });
    expect(findMalformedScope(["Links:Read"])).toEqual({ index: 0, scope: "Links:Read" });
    expect(findMalformedScope(["links:read:extra"])?.index).toBe(0);
    expect(findMalformedScope(["*:read"])?.index).toBe(0);
  });

  test("read never implies write; wildcards are explicit", () => {
    expect(scopeGrants(["links:read"], "links:read")).toBe(true);
    expect(scopeGrants(["links:read"], "links:write")).toBe(false);
    expect(scopeGrants(["links:write"], "links:read")).toBe(false);
    expect(scopeGrants(["links:*"], "links:write")).toBe(true);
    expect(scopeGrants(["links:*"], "sessions:read")).toBe(false);
    expect(scopeGrants(["*"], "sessions:write")).toBe(true);
    expect(scopeGrants(["links:*"], "*")).toBe(false);
  });

  test("normalised scopes are sorted and de-duplicated", () => {
    expect(normaliseScopes(["b:read", "a:write", "b:read"])).toEqual(["a:write", "b:read"]);
  });
});

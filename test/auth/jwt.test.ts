import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { type ManagementClaims, signToken, verifyToken } from "../../src/auth/jwt.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";

const SECRET = "a-test-secret-of-enough-length-0123456789";
const NOW = new Date("2026-11-23T12:00:00Z");
const CLAIMS: ManagementClaims = {
  sub: "usr_1",
  ent: "ent_1",
  pwd: "fingerprint",
  iat: NOW.getTime() / 1000,
  exp: NOW.getTime() / 1000 + 900,
};

/** The code a verification fails with, or "ok". */
function outcome(token: string, secret = SECRET, now = NOW): string {
  try {
    verifyToken(token, secret, now);
    return "ok";
  } catch (error) {
    if (error instanceof KeygateError) return error.code;
    throw error;
  }
}

/** A token over any payload, correctly signed with SECRET. */
function signedOver(payload: unknown): string {
  const header = signToken(CLAIMS, SECRET).split(".")[0];
  const body = `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

describe("management tokens", () => {
  test("a token signed here verifies and gives back its claims", () => {
    expect(verifyToken(signToken(CLAIMS, SECRET), SECRET, NOW)).toEqual(CLAIMS);
  });

  test("another server's secret, an extra segment, a missing one: invalid_token", () => {
    const token = signToken(CLAIMS, SECRET);
    expect(outcome(token, "another-secret-of-enough-length-012345")).toBe("invalid_token");
    expect(outcome(`${token}.extra`)).toBe("invalid_token");
    expect(outcome(token.split(".").slice(0, 2).join("."))).toBe("invalid_token");
  });

  test("a signed payload that is not a claims object is refused, not a crash", () => {
    for (const payload of [null, 42, "text", [], { sub: "usr_1" }])
      expect(outcome(signedOver(payload))).toBe("invalid_token");
  });

  test("expired_token from the second exp is reached", () => {
    const token = signToken(CLAIMS, SECRET);
    expect(outcome(token, SECRET, new Date(CLAIMS.exp * 1000 - 1))).toBe("ok");
    expect(outcome(token, SECRET, new Date(CLAIMS.exp * 1000))).toBe("expired_token");
  });
});

/**
 * Management tokens: compact JWTs signed with HMAC-SHA-256 by this server. Only the header
 * `{"alg":"HS256","typ":"JWT"}` is accepted (so `alg: none` and algorithm swaps are refused),
 * the signature is compared in constant time, and `exp` is required.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { KeygateError } from "../errors/keygate-error.ts";

/** The claims Keygate puts in a management token. */
export interface ManagementClaims {
  /** The user id. */
  sub: string;
  /** The user's entity id. */
  ent: string;
  /** The fingerprint of the password hash the token was issued with (users/password.ts). */
  pwd: string;
  /** Issued at (Unix seconds). */
  iat: number;
  /** Expires at (Unix seconds). */
  exp: number;
}

/** The header every management token starts with, encoded: the only one accepted. */
export const TOKEN_HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString(
  "base64url",
);

function sign(input: string, secret: string): string {
  return createHmac("sha256", secret).update(input).digest("base64url");
}

/** Signs the claims into a token. */
export function signToken(claims: ManagementClaims, secret: string): string {
  const body = `${TOKEN_HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${body}.${sign(body, secret)}`;
}

/** Verifies a token and returns its claims; throws `invalid_token` or `expired_token`. */
export function verifyToken(token: string, secret: string, now: Date): ManagementClaims {
  const parts = token.split(".");
  const [header, payload, signature] = parts;
  if (parts.length !== 3 || header !== TOKEN_HEADER || !payload || !signature)
    throw new KeygateError("invalid_token");
  const expected = Buffer.from(sign(`${header}.${payload}`, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw new KeygateError("invalid_token");
  let claims: Partial<ManagementClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new KeygateError("invalid_token");
  }
  if (
    typeof claims !== "object" ||
    claims === null ||
    typeof claims.sub !== "string" ||
    typeof claims.ent !== "string" ||
    typeof claims.pwd !== "string" ||
    typeof claims.exp !== "number"
  ) {
    throw new KeygateError("invalid_token");
  }
  if (claims.exp * 1000 <= now.getTime()) throw new KeygateError("expired_token");
  return claims as ManagementClaims;
}

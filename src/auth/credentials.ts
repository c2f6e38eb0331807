/**
 * Reading the credential a request presents, before any storage is touched. One request
 * carries at most one credential; `Authorization` wins over the API-key header.
 */

/** Which schemes are accepted, and the API-key header's name. */
export interface CredentialSchemes {
  bearer: boolean;
  apiKeyHeader: string | false;
  basic: boolean;
  jwt: boolean;
}

/** What a request presented. */
export type Credential =
  | { kind: "none" }
  | { kind: "malformed"; reason: string }
  | { kind: "secret"; secret: string }
  | { kind: "pair"; publicKey: string; secret: string }
  | { kind: "jwt"; token: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A value that starts with an Authorization scheme's name and a space. */
const SCHEME_FIRST = /^(?:bearer|basic|token)\s/i;

/**
 * A header sent twice reaches the server as one value, the two joined by a comma (so does a
 * list in one header); no key, key pair or token holds one. Told so, rather than as a key of
 * the wrong form.
 */
const sentTwice = (header: string): Credential => ({
  kind: "malformed",
  reason: `${header} holds more than one credential (the header was sent twice, or as a list)`,
});

/** Reads the credential from the request headers. */
export function readCredential(headers: Headers, schemes: CredentialSchemes): Credential {
  const authorization = headers.get("authorization");
  if (authorization !== null) return readAuthorization(authorization.trim(), schemes);
  if (schemes.apiKeyHeader) {
    const key = headers.get(schemes.apiKeyHeader);
    if (key !== null) {
      const secret = key.trim();
      if (!secret)
        return { kind: "malformed", reason: `the ${schemes.apiKeyHeader} header is empty` };
      if (secret.includes(",")) return sentTwice(`the ${schemes.apiKeyHeader} header`);
      // `X-Api-Key: Bearer sk_…`: the header carries the key alone, as the scheme's name says.
      if (SCHEME_FIRST.test(secret))
        return {
          kind: "malformed",
          reason: `the ${schemes.apiKeyHeader} header holds the key alone, with no scheme before it`,
        };
      return { kind: "secret", secret };
    }
  }
  return { kind: "none" };
}

/**
 * The credential in an `Authorization` value. Each way it can be wrong has its own reason, for
 * the message a developer reads: a key sent without a scheme, a scheme with nothing after it,
 * a secret key alone in Basic (`curl -u sk_live_…:`, as some APIs take it), a scheme switched
 * off. The reason never quotes the value.
 */
function readAuthorization(value: string, schemes: CredentialSchemes): Credential {
  const space = value.indexOf(" ");
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const rest = space === -1 ? "" : value.slice(space + 1).trim();
  if (scheme === "bearer") {
    if (!rest) return { kind: "malformed", reason: "nothing follows Bearer in Authorization" };
    if (rest.includes(",")) return sentTwice("Authorization");
    if (JWT_SHAPE.test(rest)) {
      return schemes.jwt
        ? { kind: "jwt", token: rest }
        : { kind: "malformed", reason: "tokens are not accepted" };
    }
    return schemes.bearer
      ? { kind: "secret", secret: rest }
      : { kind: "malformed", reason: "Bearer keys are not accepted" };
  }
  if (scheme === "basic") {
    if (!schemes.basic) return { kind: "malformed", reason: "Basic credentials are not accepted" };
    if (!rest) return { kind: "malformed", reason: "nothing follows Basic in Authorization" };
    if (rest.includes(",")) return sentTwice("Authorization");
    return readBasic(rest, schemes);
  }
  if (!rest)
    return {
      kind: "malformed",
      reason: `Authorization is not "<scheme> <credential>"${schemes.bearer ? " (a secret key goes after Bearer)" : ""}`,
    };
  return { kind: "malformed", reason: "unsupported Authorization scheme" };
}

/** A Basic credential: `public_key:secret_key`, base64-encoded. */
function readBasic(encoded: string, schemes: CredentialSchemes): Credential {
  if (!BASE64.test(encoded))
    return { kind: "malformed", reason: "the Basic credential is not base64" };
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) {
    const alone = colon === decoded.length - 1 && schemes.bearer;
    return {
      kind: "malformed",
      reason: `the Basic credential is not public_key:secret_key${alone ? " (a secret key alone goes after Bearer)" : ""}`,
    };
  }
  return { kind: "pair", publicKey: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

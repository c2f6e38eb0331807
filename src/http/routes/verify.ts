/**
 * `POST /v1/keys/verify`: lets another service check a key it was handed. The answer is
 * always 200 with `valid` and a `code`; keys outside the caller's environment or subtree are
 * reported as `api_key_invalid`, so the endpoint never confirms that such a key exists.
 */
import { Elysia, t } from "elysia";
import { Scope } from "../../../events/api-key.ts";
import type { Keygate } from "../../app/keygate.ts";
import { presentApiKey } from "../../app/present-api-key.ts";
import { canSeeKey } from "../../auth/identity.ts";
import { verifyKeyPair, verifySecretKey } from "../../auth/verify-key.ts";
import type { KeygateErrorCode } from "../../errors/keygate-error.ts";
import { scopeGrants } from "../../keys/scopes.ts";
import { apiKeyObjectOf, entityObjectOf } from "../../projections/queries.ts";
import { keyPolicy } from "../../ratelimit/index.ts";
import { wireCode } from "../envelope.ts";
import { keygateGuard } from "../guard.ts";
import { documented } from "../openapi.ts";

const VerifyBody = t.Union([
  t.Object(
    { key: t.String({ minLength: 1, maxLength: 200 }), scopes: t.Optional(t.Array(Scope)) },
    { additionalProperties: false },
  ),
  t.Object(
    {
      public_key: t.String({ minLength: 1, maxLength: 200 }),
      secret: t.String({ minLength: 1, maxLength: 200 }),
      scopes: t.Optional(t.Array(Scope)),
    },
    { additionalProperties: false },
  ),
]);

/** The key verification controller. */
export function verifyRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/verify", normalize: false }).use(keygateGuard(kg)).post(
    "/v1/keys/verify",
    ({ body, identity }) => {
      const now = kg.now();
      const verification =
        "key" in body
          ? verifySecretKey(kg.keyIndex, kg.config.keys, body.key, now)
          : verifyKeyPair(kg.keyIndex, kg.config.keys, body.public_key, body.secret, now);
      const rename = (code: KeygateErrorCode) => wireCode(code, kg.config.errorCodes);
      // A key the caller may not see is unknown to it, whatever its state: saying it is
      // revoked or expired would confirm that it exists.
      const found = verification.key;
      if (found && !canSeeKey(identity, found.entity.path, found.environment))
        return { valid: false, code: rename("api_key_invalid") };
      if (!verification.ok) return { valid: false, code: rename(verification.code) };
      const { key } = verification;
      const missing = (body.scopes ?? []).find((s) => !scopeGrants(key.scopes, s));
      if (missing)
        return { valid: false, code: rename("insufficient_scope"), missing_scope: missing };
      // A verification is a use of the verified key: it counts against that key's own limit.
      const policies = kg.config.rateLimits.enabled ? keyPolicy(kg, key.rateLimit) : [];
      if (policies.length > 0) {
        const decision = kg.rateLimiter.check(key.id, policies);
        if (!decision.allowed) {
          return {
            valid: false,
            code: rename("rate_limited"),
            retry_after: decision.retryAfterSeconds,
          };
        }
      }
      kg.usage.touch(key.id, now);
      const shown = presentApiKey(kg, apiKeyObjectOf(key, now));
      return {
        valid: true,
        code: "valid",
        key: shown,
        entity: entityObjectOf(key.entity),
        rate_limit: shown.rate_limit,
      };
    },
    {
      scopes: ["api_keys:verify"],
      parse: "json",
      body: VerifyBody,
      detail: documented({
        summary: "Verify a key: valid, or the code it would be refused with",
        id: "verifyKey",
        tag: "API keys",
        returns: "Verification",
      }),
    },
  );
}

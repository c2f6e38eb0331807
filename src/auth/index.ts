/**
 * `keygate/auth`: the Elysia plugin that authenticates every request that declares what it
 * needs, and puts the caller's identity on the context.
 *
 * @example
 * ```ts
 * const app = new Elysia()
 *   .use(keygateAuth(kg))
 *   .get("/links", ({ identity }) => list(identity.entity.id), { scopes: ["links:read"] })
 *   .post("/v1/api-keys", handler, { scopes: { all: ["api_keys:write"], management: true } });
 * ```
 *
 * A requirement is a list of scopes the caller must all hold, or `{ all?, any?, management? }`:
 * `any` needs one of its scopes; `management: true` also accepts a dashboard user's JWT
 * (refused everywhere else with `token_not_accepted`). An empty list needs any valid key.
 */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { ConfigError } from "../config/config-error.ts";
import type { EntitySelector } from "../config/gateway-config.ts";
import {
  KeygateError,
  type KeygateErrorCode,
  userEntityInactive,
} from "../errors/keygate-error.ts";
import { clientAddressLookup, type PeerLookup, UNKNOWN_ADDRESS } from "../http/peer-address.ts";
import { keyPrefixProblem } from "../keys/prefix-check.ts";
import { findEntity, findUser } from "../projections/queries.ts";
import { passwordFingerprint } from "../users/password.ts";
import { declaringAccess } from "./access-rule.ts";
import { type Credential, readCredential } from "./credentials.ts";
import { type Identity, requireScopes, USER_SCOPES } from "./identity.ts";
import { verifyToken } from "./jwt.ts";
import { keyPairMalformed, secretKeyMalformed } from "./malformed-key.ts";
import { type KeyVerifierSettings, verifyKeyPair, verifySecretKey } from "./verify-key.ts";

/** What a route needs, in full. */
export interface RequirementObject {
  all?: readonly string[];
  any?: readonly string[];
  management?: boolean;
  /** Where the request names its target entity (gateway routes), and the route's pattern. */
  entity?: { selector: EntitySelector; routePath: string };
}

/** What a route needs: the scopes it must all hold, or a {@link RequirementObject}. */
export type AuthRequirement = readonly string[] | RequirementObject;

/** The object form of a requirement. */
export function requirementObject(requirement: AuthRequirement): RequirementObject {
  return Array.isArray(requirement)
    ? { all: requirement as readonly string[] }
    : (requirement as RequirementObject);
}

/**
 * Authenticates a request's headers against a requirement; throws the KeygateError that
 * refuses it. Every 401 counts against `clientAddress`; an address over the failed-auth
 * limit is refused with 429 before any key is looked up.
 */
export function authenticate(
  kg: Keygate,
  headers: Headers,
  requirement: AuthRequirement,
  clientAddress: () => string = () => UNKNOWN_ADDRESS,
): Identity {
  const { all = [], any = [], management = false } = requirementObject(requirement);
  const started = performance.now();
  try {
    // The address is looked up only when the limiter has something to say about it.
    if (kg.failedAuth.size > 0) kg.failedAuth.refuseIfBlocked(clientAddress());
    let identity: Identity;
    try {
      identity = identify(kg, headers, management);
    } finally {
      kg.metrics.observeVerification((performance.now() - started) / 1000);
    }
    requireScopes(identity, all, any);
    return identity;
  } catch (error) {
    if (error instanceof KeygateError) {
      kg.metrics.authFailure(error.code);
      if (error.status === 401) kg.failedAuth.fail(clientAddress());
    }
    throw error;
  }
}

function identify(kg: Keygate, headers: Headers, management: boolean): Identity {
  const credential = readCredential(headers, kg.config.auth);
  const now = kg.now();
  switch (credential.kind) {
    case "none":
      throw new KeygateError("api_key_missing");
    case "malformed":
      throw new KeygateError(
        "api_key_malformed",
        `The credential is not well formed: ${credential.reason}.`,
      );
    case "jwt":
      if (!management) throw new KeygateError("token_not_accepted");
      return userIdentity(kg, credential.token, now);
    case "secret":
    case "pair": {
      const verification =
        credential.kind === "secret"
          ? verifySecretKey(kg.keyIndex, kg.config.keys, credential.secret, now)
          : verifyKeyPair(
              kg.keyIndex,
              kg.config.keys,
              credential.publicKey,
              credential.secret,
              now,
            );
      if (!verification.ok) throw refusal(verification.code, credential, kg.config.keys);
      const { key, retiredSecret } = verification;
      kg.usage.touch(key.id, now);
      // A key found by its hash proves the pepper: a database made before the record has one.
      if (kg.pepper.unrecorded) kg.pepper.record(now);
      return {
        type: "api_key",
        key,
        retiredSecret,
        environment: key.environment,
        entity: { id: key.entity.id, path: key.entity.path },
        scopes: key.scopes,
      };
    }
    default: {
      const _exhaustive: never = credential;
      return _exhaustive;
    }
  }
}

/** The error refusing a key; a malformed one is told why ({@link secretKeyMalformed}). */
function refusal(
  code: KeygateErrorCode,
  credential: Extract<Credential, { kind: "secret" | "pair" }>,
  prefixes: KeyVerifierSettings,
): KeygateError {
  if (code !== "api_key_malformed") return new KeygateError(code);
  const why =
    credential.kind === "secret"
      ? secretKeyMalformed(credential.secret, prefixes)
      : keyPairMalformed(credential.publicKey, credential.secret, prefixes);
  return why
    ? new KeygateError(code, `The API key is not well formed: ${why}.`)
    : new KeygateError(code);
}

function userIdentity(kg: Keygate, token: string, now: Date): Identity {
  const claims = verifyToken(token, kg.jwtSecret, now);
  const user = findUser(kg.db, claims.sub);
  const entity = user && findEntity(kg.db, user.entity_id);
  if (!user || !entity) throw new KeygateError("invalid_token");
  if (!user.active)
    throw new KeygateError("invalid_token", "The user this token was issued to is deactivated.");
  if (claims.pwd !== passwordFingerprint(user.password_hash))
    throw new KeygateError(
      "invalid_token",
      "The password of the user this token was issued to has changed since: log in again.",
    );
  if (!entity.active) throw userEntityInactive();
  return {
    type: "user",
    userId: user.id,
    environment: null,
    entity: { id: entity.id, path: entity.path },
    scopes: USER_SCOPES,
  };
}

/**
 * What runs after a request is authenticated, in order (rate limiting, then idempotency):
 * a step throws a KeygateError to refuse the request, sets response headers, or returns the
 * response itself (an idempotent replay) so the handler does not run. Steps are synchronous.
 */
export type AuthenticatedStep = (identity: Identity, context: StepContext) => Response | undefined;

/**
 * What runs straight after authentication, before the request is validated: it refuses the
 * request by throwing a KeygateError, or sets response headers; it cannot answer instead of the
 * handler (the target entity, the rate limit). Synchronous.
 */
export type AuthenticatedCheck = (identity: Identity, context: StepContext) => void;

/**
 * The steps that follow authentication, in two phases around Elysia's validation of the
 * request (its body, query and params against the route's schema):
 *
 * - `checks` run before it, straight after authentication, and can only refuse (by throwing):
 *   the target entity, the rate limit. So an unauthenticated request is 401 whatever its body
 *   (not a 400 that describes the API to anyone), and a key sending invalid requests is
 *   counted and limited like any other (SPEC §5: 401/403, then 429, then 400);
 * - `steps` run after it, just before the handler, and may answer instead of it (an
 *   idempotent replay).
 */
export interface AfterAuthentication {
  checks?: readonly AuthenticatedCheck[];
  steps?: readonly AuthenticatedStep[];
}

/** What a step sees of the request. */
export interface StepContext {
  request: Request;
  /** The method and path the policies apply to (forward-auth: the original request's). */
  method: string;
  path: string;
  /** The pattern of the route serving it (forward-auth: the gateway route it picked; "" none). */
  route: string;
  /** The original path with its query, when it is not `request.url`'s (forward-auth). */
  originalUri?: string;
  set: { headers: Record<string, unknown> };
  requirement: RequirementObject;
}

/** The Keygates {@link requireKeysFindable} found fit (an app builds the plugin per module). */
const findable = new WeakSet<Keygate>();

/**
 * Under another pepper, or other prefixes, than the database's keys were made with, no key
 * would be found (pepper-check.ts, prefix-check.ts): such a start is refused instead.
 */
function requireKeysFindable(kg: Keygate): void {
  if (findable.has(kg)) return;
  kg.pepper.require();
  const prefixes = keyPrefixProblem(kg.db.sql, kg.config.keys);
  if (prefixes) throw new ConfigError(prefixes);
  findable.add(kg);
}

/**
 * The plugin: adds the `scopes` route option, which authenticates (in the route's transform
 * hook, before validation), sets `identity`, then runs `after`'s checks, and its steps in
 * the route's beforeHandle — Elysia runs a macro's hook after any plugin's global hook, so a
 * step that needs the identity has to be chained here rather than be a hook of its own.
 */
export function keygateAuth(kg: Keygate, after: AfterAuthentication = {}) {
  requireKeysFindable(kg);
  const { trustedProxies } = kg.config.gateway;
  const checks = after.checks ?? [];
  const steps = after.steps ?? [];
  return (
    new Elysia({ name: "keygate/auth" })
      // Set by the `scopes` macro before the handler runs; read it only on routes that declare
      // `scopes`. (A synchronous beforeHandle, not `resolve`: in Elysia 1.4 a resolve hook
      // costs this route 40 % of its throughput on Bun's server.)
      .decorate("identity", undefined as unknown as Identity)
      .macro({
        scopes: (requirement: AuthRequirement) => {
          const required = requirementObject(requirement);
          const stepContext = (
            request: Request,
            path: string,
            route: string,
            set: StepContext["set"],
          ) => ({
            request,
            method: request.method,
            path,
            route,
            set,
            requirement: required,
          });
          return {
            // Only named fields of the context are read: Elysia builds the context lazily from
            // what its hooks use, and passing the whole object on would make it build all of
            // it (cookies included) for every request.
            //
            // Elysia decides from a hook's source text *as transpiled* whether to await it: the
            // words async/await, or "return f(" / "=> f(" anywhere in it. This one is
            // synchronous and must read as such — no call right after a return or an arrow,
            // not even one the transpiler makes by folding a variable into it (it did, and every
            // authenticated request paid for an await).
            transform: declaringAccess(function transform(context: {
              request: Request;
              server: PeerLookup | null;
              path: string;
              route: string;
              set: StepContext["set"];
              identity?: Identity;
            }) {
              const { request, server, path, route, set } = context;
              const address = clientAddressLookup(request, server, trustedProxies);
              const identity = authenticate(kg, request.headers, requirement, address);
              context.identity = identity;
              const step = stepContext(request, path, route, set);
              for (const check of checks) check(identity, step);
            }),
            ...(steps.length === 0
              ? {}
              : {
                  beforeHandle(context: {
                    request: Request;
                    path: string;
                    route: string;
                    set: StepContext["set"];
                    identity: Identity;
                  }) {
                    const { request, path, route, set, identity } = context;
                    const step = stepContext(request, path, route, set);
                    for (const run of steps) {
                      const answer = run(identity, step);
                      if (answer) return answer;
                    }
                    return undefined;
                  },
                }),
          };
        },
      })
  );
}

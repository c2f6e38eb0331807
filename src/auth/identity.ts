/**
 * Who is calling, and the access rules that follow from it: a key acts only in its own
 * environment and entity subtree and grants only what it holds; a dashboard user (JWT) acts
 * on keys of either environment inside its entity's subtree.
 */
import { KeygateError } from "../errors/keygate-error.ts";
import type { Environment } from "../keys/key-format.ts";
import { scopeGrants } from "../keys/scopes.ts";
import type { IndexedKey } from "../projections/key-index.ts";

/** The authenticated caller. */
export type Identity =
  | {
      type: "api_key";
      key: IndexedKey;
      /** Whether the caller presented a secret a rotation retired (it works until it expires). */
      retiredSecret: boolean;
      environment: Environment;
      entity: { id: string; path: string[] };
      scopes: string[];
    }
  | {
      type: "user";
      userId: string;
      /** Users are not bound to an environment: they choose one per key. */
      environment: null;
      entity: { id: string; path: string[] };
      scopes: string[];
    };

/**
 * The scopes a dashboard user holds through its JWT. The JWT is accepted on the
 * `/v1/api-keys*` routes only, so in practice this lets a user manage keys — with any scopes —
 * inside its entity's subtree, which is what a dashboard does.
 */
export const USER_SCOPES = ["*"];

/** The caller's id as events record it: the key id or the user id. */
export function actorOf(identity: Identity): string {
  return identity.type === "api_key" ? identity.key.id : identity.userId;
}

/** Throws `insufficient_scope` naming the first scope the caller lacks. */
export function requireScopes(
  identity: Identity,
  all: readonly string[],
  any: readonly string[],
): void {
  const missing = all.find((s) => !scopeGrants(identity.scopes, s));
  if (missing) {
    throw new KeygateError(
      "insufficient_scope",
      `This request needs the ${missing} scope, which the caller does not hold.`,
    );
  }
  if (any.length > 0 && !any.some((s) => scopeGrants(identity.scopes, s))) {
    throw new KeygateError(
      "insufficient_scope",
      `This request needs one of the scopes ${any.join(", ")}.`,
    );
  }
}

/** Whether an entity (given by its path from the root) is inside the caller's subtree. */
export function inSubtree(identity: Identity, entityPath: readonly string[]): boolean {
  return entityPath.includes(identity.entity.id);
}

/** Throws `entity_forbidden` unless the entity is inside the caller's subtree. */
export function requireInSubtree(
  identity: Identity,
  entityPath: readonly string[],
  param?: string,
): void {
  if (!inSubtree(identity, entityPath)) {
    throw new KeygateError(
      "entity_forbidden",
      `Entity ${entityPath.at(-1)} is outside the caller's subtree.`,
      param,
    );
  }
}

/** Whether the caller acts in `environment` (an API key in its own; a user in either). */
export function actsIn(identity: Identity, environment: Environment): boolean {
  return identity.environment === null || identity.environment === environment;
}

/**
 * Whether the caller may see a key of `environment` whose entity has `entityPath`. Keys it
 * may not see are answered as if they did not exist.
 */
export function canSeeKey(
  identity: Identity,
  entityPath: readonly string[],
  environment: Environment,
): boolean {
  return inSubtree(identity, entityPath) && actsIn(identity, environment);
}

/** Throws `environment_forbidden` when an API key addresses the other environment. */
export function requireEnvironment(
  identity: Identity,
  environment: Environment,
  param?: string,
): void {
  if (!actsIn(identity, environment)) {
    throw new KeygateError(
      "environment_forbidden",
      `A ${identity.environment} key acts only on ${identity.environment} keys, not ${environment}.`,
      param,
    );
  }
}

/** The first of `scopes` the caller does not hold (and so can neither grant nor manage). */
function firstBeyond(identity: Identity, scopes: readonly string[]): string | undefined {
  return scopes.find((s) => !scopeGrants(identity.scopes, s));
}

/** Throws `insufficient_scope` when the caller would grant a scope it does not hold. */
export function requireGrantable(identity: Identity, scopes: readonly string[]): void {
  const beyond = firstBeyond(identity, scopes);
  if (beyond) {
    throw new KeygateError(
      "insufficient_scope",
      `The caller cannot grant ${beyond}: a key never grants more than it holds.`,
      "scopes",
    );
  }
}

/**
 * The calling key's expiry, if something that expires at `expiresAtMs` (null: never) outlives
 * it; else undefined (it does not, or the caller does not expire).
 */
function outlivedExpiry(identity: Identity, expiresAtMs: number | null): string | undefined {
  if (identity.type !== "api_key") return undefined;
  const { expiresAt, expiresAtMs: callerMs } = identity.key;
  if (expiresAt === null || callerMs === null) return undefined;
  return expiresAtMs === null || expiresAtMs > callerMs ? expiresAt : undefined;
}

/** Whether something that expires at `expiresAtMs` (null: never) outlives the calling key. */
export function outlivesCaller(identity: Identity, expiresAtMs: number | null): boolean {
  return outlivedExpiry(identity, expiresAtMs) !== undefined;
}

/**
 * Throws `access_denied` when a key that expires would give what outlives it: a key with no
 * expiry or a later one (`expiresAt`, the request's field `param`), or a user (`null`, no
 * `param`: dashboard access never expires). A key lent for a week must not mint a permanent
 * one. Users and keys without an expiry may give any.
 */
export function requireWithinLifetime(
  identity: Identity,
  expiresAt: Date | null,
  param?: string,
): void {
  const callerExpiry = outlivedExpiry(identity, expiresAt?.getTime() ?? null);
  if (callerExpiry === undefined) return;
  const hint = param
    ? `give an ${param} no later than that`
    : "a user never expires, so only a key that does not expire (or the CLI) creates one, reactivates one or sets its password";
  throw new KeygateError(
    "access_denied",
    `This key expires at ${callerExpiry}, and what it gives cannot outlive it: ${hint}.`,
    param,
  );
}

/**
 * Throws `access_denied` when rotating `key` would hand a key that expires the new secret of
 * one that outlives it — a way around {@link requireWithinLifetime}.
 */
export function requireOutlivesToRotate(
  identity: Identity,
  key: { expires_at: string | null },
): void {
  const expiresAtMs = key.expires_at === null ? null : Date.parse(key.expires_at);
  const callerExpiry = outlivedExpiry(identity, expiresAtMs);
  if (callerExpiry === undefined) return;
  throw new KeygateError(
    "access_denied",
    `Rotating hands over the key's new secret, and this key ${key.expires_at === null ? "never expires" : `expires at ${key.expires_at}`}, later than the caller (${callerExpiry}): only a caller that lives as long may rotate it.`,
  );
}

/**
 * Throws unless the caller may change, rotate or revoke `key`.
 *
 * `insufficient_scope` when the key holds a scope the caller cannot grant. Rotating hands over
 * the new secret: `api_keys:write` rotating the platform's `*` key would come away holding `*`.
 * And a lesser key may not disable or rewrite a greater one either. A key may always manage
 * itself and any key it could have made.
 *
 * `access_denied` when the caller is the key itself, presented with a secret a rotation
 * retired. The overlap keeps that secret working for traffic while deployments move over; it
 * does not keep it the key's owner. Otherwise whoever held the old secret (a leaked one, the
 * usual reason to rotate) could rotate again, come away with a fresh secret and, with
 * `expire_previous_in: 0`, end the one that replaced it.
 */
export function requireManageable(
  identity: Identity,
  key: { id: string; scopes: readonly string[] },
): void {
  const beyond = firstBeyond(identity, key.scopes);
  if (beyond) {
    throw new KeygateError(
      "insufficient_scope",
      `The caller cannot manage a key holding ${beyond}: a key never manages one that holds more than it does.`,
    );
  }
  if (identity.type === "api_key" && identity.retiredSecret && identity.key.id === key.id) {
    throw new KeygateError(
      "access_denied",
      "This secret was rotated out: it keeps authenticating until it expires, but only the key's current secret can change, rotate or revoke the key.",
    );
  }
}

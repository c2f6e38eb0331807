/**
 * `POST /v1/users` (create a dashboard user, `users:write`), `…/{id}/deactivate` and
 * `…/{id}/reactivate`, and `POST /v1/auth/login` (email + password → a short-lived management
 * JWT, accepted on `/v1/api-keys*` only).
 */

import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { type Identity, inSubtree, requireGrantable, USER_SCOPES } from "../../auth/identity.ts";
import { signToken } from "../../auth/jwt.ts";
import { createUser, deactivateUser, reactivateUser } from "../../commands/users.ts";
import { KeygateError, userEntityInactive } from "../../errors/keygate-error.ts";
import { findEntity, findUser, findUserByEmail } from "../../projections/queries.ts";
import {
  DEFAULT_SCRYPT_COST,
  hashPassword,
  type ScryptCost,
  verifyPassword,
} from "../../users/password.ts";
import { normaliseEmail } from "../../users/user.ts";
import { entityInSubtree } from "../entity-in-subtree.ts";
import { eventMetadata } from "../event-metadata.ts";
import { keygateGuard } from "../guard.ts";
import { clientAddress } from "../peer-address.ts";

/** How long a management token lives: 15 minutes. */
export const TOKEN_TTL_SECONDS = 15 * 60;

// Checked for unknown emails too, so response time does not reveal which emails exist.
let dummyHash: string | undefined;
const dummyPasswordHash = (cost: ScryptCost) => {
  dummyHash ??= hashPassword("keygate-dummy-password", cost);
  return dummyHash;
};

/** Throws `resource_missing` unless the user `id` exists in the caller's subtree. */
function requireVisibleUser(kg: Keygate, identity: Identity, id: string): void {
  const user = findUser(kg.db, id);
  const entity = user && findEntity(kg.db, user.entity_id);
  if (!user || !entity || !inSubtree(identity, entity.path))
    throw new KeygateError("resource_missing", `No such user: ${id}.`);
}

/** The users and login controller. `cost` lowers scrypt's cost in tests. */
export function userRoutes(kg: Keygate, cost: ScryptCost = DEFAULT_SCRYPT_COST) {
  return new Elysia({ name: "keygate/routes/users", normalize: false })
    .use(keygateGuard(kg))
    .post(
      "/v1/users",
      ({ body, identity, set }) => {
        const entity = entityInSubtree(kg, identity, body.entity_id, "entity_id");
        // A user's token may issue keys with any scope in its subtree, so only a caller that
        // holds every scope may create one: users:write alone must not be a way up to `*`.
        requireGrantable(identity, USER_SCOPES);
        return createUser(
          kg,
          { email: body.email, password: body.password, entityId: entity.id },
          eventMetadata(identity, set),
          cost,
        );
      },
      {
        scopes: ["users:write"],
        parse: "json",
        body: t.Object(
          {
            email: t.String({ minLength: 3, maxLength: 254 }),
            password: t.String({ minLength: 1, maxLength: 1024 }),
            entity_id: t.String({ maxLength: 100 }),
          },
          { additionalProperties: false },
        ),
      },
    )
    .post(
      "/v1/users/:id/deactivate",
      ({ params, identity, set }) => {
        requireVisibleUser(kg, identity, params.id);
        return deactivateUser(kg, params.id, eventMetadata(identity, set));
      },
      { scopes: ["users:write"] },
    )
    .post(
      "/v1/users/:id/reactivate",
      ({ params, identity, set }) => {
        requireVisibleUser(kg, identity, params.id);
        // Like creating one: a reactivated user holds `*` in its subtree again.
        requireGrantable(identity, USER_SCOPES);
        return reactivateUser(kg, params.id, eventMetadata(identity, set));
      },
      { scopes: ["users:write"] },
    )
    .post(
      "/v1/auth/login",
      async ({ body, request, server }) => {
        // Failed logins count against the same per-address limit as failed API keys.
        const address = clientAddress(request, server, kg.config.gateway.trustedProxies);
        kg.failedAuth.refuseIfBlocked(address);
        const user = findUserByEmail(kg.db, normaliseEmail(body.email));
        const ok = await verifyPassword(
          body.password,
          user?.password_hash ?? dummyPasswordHash(cost),
        );
        if (!user || !ok) {
          kg.failedAuth.fail(address);
          throw new KeygateError("invalid_credentials");
        }
        // Said only to the one who knows the password: no one learns more about an address.
        if (!user.active)
          throw new KeygateError("invalid_credentials", "This user is deactivated.");
        const entity = findEntity(kg.db, user.entity_id);
        if (!entity?.active) throw userEntityInactive();
        const now = Math.floor(kg.now().getTime() / 1000);
        const exp = now + TOKEN_TTL_SECONDS;
        return {
          token: signToken({ sub: user.id, ent: user.entity_id, iat: now, exp }, kg.jwtSecret),
          token_type: "Bearer",
          expires_at: new Date(exp * 1000).toISOString(),
        };
      },
      {
        parse: "json",
        body: t.Object(
          {
            email: t.String({ minLength: 1, maxLength: 254 }),
            password: t.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
      },
    );
}

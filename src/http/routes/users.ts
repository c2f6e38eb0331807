/**
 * `POST /v1/users` (create a dashboard user, `users:write`) and `POST /v1/auth/login`
 * (email + password → a short-lived management JWT, accepted on `/v1/api-keys*` only).
 */

import { scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { requireInSubtree } from "../../auth/identity.ts";
import { keygateAuth } from "../../auth/index.ts";
import { signToken } from "../../auth/jwt.ts";
import { createUser } from "../../commands/users.ts";
import { KeygateError } from "../../errors/keygate-error.ts";
import { findEntity, findUserByEmail } from "../../projections/queries.ts";
import { DEFAULT_SCRYPT_COST, hashPassword, type ScryptCost } from "../../users/password.ts";
import { normaliseEmail } from "../../users/user.ts";
import { eventMetadata } from "../event-metadata.ts";

/** How long a management token lives: 15 minutes. */
export const TOKEN_TTL_SECONDS = 15 * 60;

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** Checks a password off the event loop (scrypt runs on the thread pool). */
async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const cost = { N: Number(N), r: Number(r), p: Number(p) };
  const actual = await scryptAsync(
    password.normalize("NFKC"),
    Buffer.from(salt, "base64"),
    expected.length,
    {
      ...cost,
      maxmem: 256 * cost.N * cost.r,
    },
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

// Checked for unknown emails too, so response time does not reveal which emails exist.
let dummyHash: string | undefined;
const dummyPasswordHash = (cost: ScryptCost) => {
  dummyHash ??= hashPassword("keygate-dummy-password", cost);
  return dummyHash;
};

/** The users and login controller. `cost` lowers scrypt's cost in tests. */
export function userRoutes(kg: Keygate, cost: ScryptCost = DEFAULT_SCRYPT_COST) {
  return new Elysia({ name: "keygate/routes/users", normalize: false })
    .use(keygateAuth(kg))
    .post(
      "/v1/users",
      ({ body, identity, set }) => {
        const entity = findEntity(kg.db, body.entity_id);
        if (!entity)
          throw new KeygateError(
            "resource_missing",
            `No such entity: ${body.entity_id}.`,
            "entity_id",
          );
        requireInSubtree(identity, entity.path, "entity_id");
        return createUser(
          kg,
          { email: body.email, password: body.password, entityId: entity.id },
          eventMetadata(identity, set),
          cost,
        );
      },
      {
        scopes: ["users:write"],
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
      "/v1/auth/login",
      async ({ body }) => {
        const user = findUserByEmail(kg.db, normaliseEmail(body.email));
        const ok = await passwordMatches(
          body.password,
          user?.password_hash ?? dummyPasswordHash(cost),
        );
        if (!user || !ok) throw new KeygateError("invalid_credentials");
        const entity = findEntity(kg.db, user.entity_id);
        if (!entity?.active) throw new KeygateError("entity_inactive");
        const now = Math.floor(kg.now().getTime() / 1000);
        const exp = now + TOKEN_TTL_SECONDS;
        return {
          token: signToken({ sub: user.id, ent: user.entity_id, iat: now, exp }, kg.jwtSecret),
          token_type: "Bearer",
          expires_at: new Date(exp * 1000).toISOString(),
        };
      },
      {
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

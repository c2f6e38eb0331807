/**
 * `GET /v1/users` and `GET /v1/users/{id}` (`users:read`, the caller's subtree),
 * `POST /v1/users` (create a dashboard user, `users:write`), `PATCH /v1/users/{id}` (its email),
 * `…/{id}/deactivate`,
 * `…/{id}/reactivate` and `…/{id}/password` (an administrator's reset), `POST /v1/auth/login`
 * (email + password → a short-lived management JWT, accepted on `/v1/api-keys*` only) and
 * `POST /v1/auth/password` (a user's own change, with the current password).
 */

import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import {
  type Identity,
  inSubtree,
  requireGrantable,
  requireWithinLifetime,
  USER_SCOPES,
} from "../../auth/identity.ts";
import { signToken } from "../../auth/jwt.ts";
import {
  changeEmail,
  changePassword,
  createUserWithHash,
  deactivateUser,
  hashNewPassword,
  MIN_PASSWORD_LENGTH,
  reactivateUser,
  setPasswordHash,
  userObject,
} from "../../commands/users.ts";
import { invalidRequest, KeygateError, userEntityInactive } from "../../errors/keygate-error.ts";
import { commitWithRecord } from "../../idempotency/index.ts";
import {
  findEntity,
  findUser,
  findUserByEmail,
  listUsers,
  type UserRecord,
} from "../../projections/queries.ts";
import {
  DEFAULT_SCRYPT_COST,
  hashPassword,
  passwordFingerprint,
  type ScryptCost,
  verifyPassword,
} from "../../users/password.ts";
import { normaliseEmail } from "../../users/user.ts";
import { forbidCaching } from "../cache-control.ts";
import { EntityIdField, entityInSubtree } from "../entity-in-subtree.ts";
import { actorMetadata, eventMetadata } from "../event-metadata.ts";
import { keygateGuard } from "../guard.ts";
import { LIST_LIMIT, listPage } from "../list-page.ts";
import { documented } from "../openapi.ts";
import { clientAddress, type PeerLookup } from "../peer-address.ts";
import { publishedWith } from "../published-schema.ts";

/** The groups of these routes in the OpenAPI document. */
const TAG = "Users";
const SIGN_IN = "Sign-in";

/** How long a management token lives: 15 minutes. */
export const TOKEN_TTL_SECONDS = 15 * 60;

/**
 * The hash an unknown email's password is checked against, so that a sign-in takes as long
 * whether its email exists or not. Made once per app, starting when its routes are built, and
 * made again if making it failed (the password gate was full then): a failure is not kept.
 */
function dummyPasswordHash(cost: ScryptCost): () => Promise<string> {
  let made: Promise<string> | undefined;
  const make = () => {
    made ??= hashPassword("keygate-dummy-password", cost).catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return made;
  };
  make().catch(() => undefined); // ready for the first unknown email, or made again then
  return make;
}

/** The user `id` if it exists in the caller's subtree; otherwise throws `resource_missing`. */
function visibleUser(kg: Keygate, identity: Identity, id: string, param?: string): UserRecord {
  const user = findUser(kg.db, id);
  const entity = user && findEntity(kg.db, user.entity_id);
  if (!user || !entity || !inSubtree(identity, entity.path))
    throw new KeygateError("resource_missing", `No such user: ${id}.`, param);
  return user;
}

/**
 * Throws unless the caller may give what a user holds — `*` in its subtree, for good: it holds
 * every scope, and it is not a key that expires.
 */
function requireUserGrantable(identity: Identity): void {
  requireGrantable(identity, USER_SCOPES);
  requireWithinLifetime(identity, null);
}

/** A page of users, as `/v1/api-keys` pages keys: by id, 10 by default, at most 100. */
const ListQuery = t.Object(
  {
    entity_id: t.Optional(EntityIdField),
    email: t.Optional(t.String({ minLength: 1, maxLength: 254 })),
    starting_after: t.Optional(
      t.String({ pattern: "^usr_[0-9A-Za-z]{1,64}$", description: "a user id (usr_…)" }),
    ),
    limit: t.Optional(LIST_LIMIT.schema),
  },
  { additionalProperties: false },
);

/** A password as any route takes it (its rules are the command's: users/password.ts). */
const Password = t.String({ minLength: 1, maxLength: 1024 });

/**
 * A password being set: its length and characters are checked by the command, with a message
 * naming the rule broken.
 */
const NewPassword = publishedWith(Password, {
  minLength: MIN_PASSWORD_LENGTH,
  description: "10–1,024 characters, none a control character (a line break, a tab)",
});

/** What a user signs in with. */
const Credentials = t.Object(
  {
    email: t.String({ minLength: 1, maxLength: 254 }),
    password: Password,
  },
  { additionalProperties: false },
);

/** The users and login controller. `cost` lowers scrypt's cost in tests. */
export function userRoutes(kg: Keygate, cost: ScryptCost = DEFAULT_SCRYPT_COST) {
  const { trustedProxies } = kg.config.gateway;
  const dummyHash = dummyPasswordHash(cost);
  const signInFrom = (
    credentials: { email: string; password: string },
    request: Request,
    server: PeerLookup | null | undefined,
  ) => signIn(kg, credentials, clientAddress(request, server, trustedProxies), dummyHash);
  const routes = new Elysia({ name: "keygate/routes/users", normalize: false })
    .use(keygateGuard(kg))
    .post(
      "/v1/users",
      async ({ body, identity, set, request }) => {
        const entity = entityInSubtree(kg, identity, body.entity_id, "entity_id");
        // A user's token may issue keys with any scope in its subtree, so only a caller that
        // holds every scope may create one: users:write alone must not be a way up to `*`.
        requireUserGrantable(identity);
        const passwordHash = await hashNewPassword(
          { value: body.password, field: "password" },
          cost,
        );
        return commitWithRecord(kg, request, set, () =>
          createUserWithHash(
            kg,
            { email: body.email, passwordHash, entityId: entity.id },
            eventMetadata(identity, set),
          ),
        );
      },
      {
        scopes: ["users:write"],
        parse: "json",
        body: t.Object(
          {
            email: t.String({ minLength: 3, maxLength: 254 }),
            password: NewPassword,
            entity_id: EntityIdField,
          },
          { additionalProperties: false },
        ),
        detail: documented({
          summary: "Create a dashboard user",
          id: "createUser",
          tag: TAG,
          returns: "User",
        }),
      },
    )
    .get(
      "/v1/users",
      ({ query, identity }) => {
        if (query.entity_id !== undefined)
          entityInSubtree(kg, identity, query.entity_id, "entity_id");
        if (query.starting_after !== undefined)
          visibleUser(kg, identity, query.starting_after, "starting_after");
        return listPage(
          query.limit,
          (limit) =>
            listUsers(kg.db, {
              subtreePath: identity.entity.path,
              entityId: query.entity_id,
              email: query.email === undefined ? undefined : normaliseEmail(query.email),
              startingAfter: query.starting_after,
              limit,
            }),
          userObject,
        );
      },
      {
        scopes: ["users:read"],
        query: ListQuery,
        detail: documented({
          summary: "List users",
          id: "listUsers",
          tag: TAG,
          returns: "UserList",
        }),
      },
    )
    .get(
      "/v1/users/:id",
      ({ params, identity }) => userObject(visibleUser(kg, identity, params.id)),
      {
        scopes: ["users:read"],
        detail: documented({ summary: "Get a user", id: "getUser", tag: TAG, returns: "User" }),
      },
    )
    .patch(
      "/v1/users/:id",
      ({ params, body, identity, set, request }) => {
        const user = visibleUser(kg, identity, params.id);
        // An email is a login name, not a credential: changing it gives no access to the user,
        // so users:write is enough (as for deactivating one).
        const { email } = body;
        if (email === undefined) return userObject(user);
        return commitWithRecord(kg, request, set, () =>
          changeEmail(kg, params.id, email, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["users:write"],
        parse: "json",
        body: t.Object(
          { email: t.Optional(t.String({ minLength: 3, maxLength: 254 })) },
          { additionalProperties: false },
        ),
        detail: documented({
          summary: "Change a user's email (its login)",
          id: "updateUser",
          tag: TAG,
          returns: "User",
        }),
      },
    )
    .post(
      "/v1/users/:id/deactivate",
      ({ params, identity, set, request }) => {
        visibleUser(kg, identity, params.id);
        return commitWithRecord(kg, request, set, () =>
          deactivateUser(kg, params.id, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["users:write"],
        detail: documented({
          summary: "Deactivate a user: no more sign-ins, its tokens refused at once",
          id: "deactivateUser",
          tag: TAG,
          returns: "User",
        }),
      },
    )
    .post(
      "/v1/users/:id/reactivate",
      ({ params, identity, set, request }) => {
        visibleUser(kg, identity, params.id);
        // Like creating one: a reactivated user holds `*` in its subtree again.
        requireUserGrantable(identity);
        return commitWithRecord(kg, request, set, () =>
          reactivateUser(kg, params.id, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["users:write"],
        detail: documented({
          summary: "Reactivate a user",
          id: "reactivateUser",
          tag: TAG,
          returns: "User",
        }),
      },
    )
    .post(
      "/v1/users/:id/password",
      async ({ params, body, identity, set, request }) => {
        visibleUser(kg, identity, params.id);
        // Whoever sets a user's password can act as that user, who holds `*` in its subtree.
        requireUserGrantable(identity);
        const passwordHash = await hashNewPassword(
          { value: body.password, field: "password" },
          cost,
        );
        return commitWithRecord(kg, request, set, () =>
          setPasswordHash(kg, params.id, passwordHash, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["users:write"],
        parse: "json",
        body: t.Object({ password: NewPassword }, { additionalProperties: false }),
        detail: documented({
          summary: "Set a user's password: the tokens issued before are refused",
          id: "setUserPassword",
          tag: TAG,
          returns: "User",
        }),
      },
    )
    .post(
      "/v1/auth/password",
      async ({ body, request, server, set }) => {
        const user = await signInFrom(body, request, server);
        if (body.new_password === body.password)
          throw invalidRequest("new_password must differ from password.", "new_password");
        return changePassword(
          kg,
          user.id,
          { value: body.new_password, field: "new_password" },
          actorMetadata(user.id, set),
          cost,
        );
      },
      {
        parse: "json",
        body: t.Object(
          { ...Credentials.properties, new_password: NewPassword },
          { additionalProperties: false },
        ),
        detail: documented({
          summary: "Change one's own password, with the current one",
          id: "changePassword",
          tag: SIGN_IN,
          returns: "User",
          access: "public",
        }),
      },
    );
  // Without management tokens (`auth.jwt: false`) there is nothing to sign in for: no route
  // hands out a token that every route then refuses.
  if (!kg.config.auth.jwt) return routes;
  return routes.post(
    "/v1/auth/login",
    async ({ body, request, server, set }) => {
      const user = await signInFrom(body, request, server);
      forbidCaching(set);
      const now = Math.floor(kg.now().getTime() / 1000);
      const exp = now + TOKEN_TTL_SECONDS;
      const claims = {
        sub: user.id,
        ent: user.entity_id,
        pwd: passwordFingerprint(user.password_hash),
        iat: now,
        exp,
      };
      return {
        token: signToken(claims, kg.jwtSecret),
        token_type: "Bearer",
        expires_at: new Date(exp * 1000).toISOString(),
      };
    },
    {
      parse: "json",
      body: Credentials,
      detail: documented({
        summary: "Sign in: a management token for /v1/api-keys*",
        id: "login",
        tag: SIGN_IN,
        returns: "Token",
        access: "public",
      }),
    },
  );
}

/**
 * Checks a user's email and password and returns the user, or throws why not: wrong
 * credentials (counted against the caller's address, like a failed API key, and against the
 * email, whatever the address: 429 past either limit, the right password included), a
 * deactivated user (said only to one who knows the password), or an inactive entity. Unknown
 * emails are counted as known ones are, so the 429 tells nothing about which exist.
 */
async function signIn(
  kg: Keygate,
  credentials: { email: string; password: string },
  address: string,
  dummyHash: () => Promise<string>,
): Promise<UserRecord> {
  const email = normaliseEmail(credentials.email);
  kg.failedAuth.refuseIfBlocked(address);
  kg.failedSignIns.refuseIfBlocked(email);
  const user = findUserByEmail(kg.db, email);
  // Counted before the password is checked (scrypt takes a while): sign-ins sent all at once
  // must not each pass the checks above before any of them has failed.
  const counted = [kg.failedAuth.countInAdvance(address), kg.failedSignIns.countInAdvance(email)];
  let right: boolean | undefined; // stays undefined if the password work is refused: not judged
  try {
    const hash = user?.password_hash ?? (await dummyHash());
    right = (await verifyPassword(credentials.password, hash)) && user !== undefined;
  } finally {
    if (right !== false) for (const takeBack of counted) takeBack();
  }
  if (!right || !user) throw new KeygateError("invalid_credentials");
  if (!user.active) throw new KeygateError("invalid_credentials", "This user is deactivated.");
  if (!findEntity(kg.db, user.entity_id)?.active) throw userEntityInactive();
  return user;
}

/** Command handler for dashboard users. */
import type { Keygate } from "../app/keygate.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { newId } from "../ids/index.ts";
import { emailTaken, findEntity } from "../projections/queries.ts";
import { STREAM_DOES_NOT_EXIST } from "../store/expected-version.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { DEFAULT_SCRYPT_COST, hashPassword, type ScryptCost } from "../users/password.ts";
import { decideUser, initialUserState, normaliseEmail } from "../users/user.ts";

/** The user object of the API (never holds the password or its hash). */
export interface UserObject {
  object: "user";
  id: string;
  email: string;
  entity_id: string;
}

/** Passwords shorter than this are refused. */
export const MIN_PASSWORD_LENGTH = 10;

/** Creates a dashboard user bound to an entity. */
export function createUser(
  kg: Keygate,
  input: { email: string; password: string; entityId: string },
  metadata: EventMetadata,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): UserObject {
  if (!findEntity(kg.db, input.entityId)) {
    throw new KeygateError("resource_missing", `No such entity: ${input.entityId}.`, "entity_id");
  }
  if (input.password.length < MIN_PASSWORD_LENGTH || input.password.length > 1024) {
    throw invalidRequest(`password must be ${MIN_PASSWORD_LENGTH}–1024 characters.`, "password");
  }
  const id = newId("usr");
  const email = normaliseEmail(input.email);
  const events = decideUser(
    {
      type: "CreateUser",
      id,
      entityId: input.entityId,
      email,
      passwordHash: hashPassword(input.password, cost),
      emailTaken: emailTaken(kg.db, email),
    },
    initialUserState,
  );
  kg.store.appendToStream(id, events, { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata });
  return { object: "user", id, email, entity_id: input.entityId };
}

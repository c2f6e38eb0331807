/** Command handler for dashboard users. */
import { isUserEvent } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { newId } from "../ids/index.ts";
import { emailTaken, findEntity, findUser, type UserRecord } from "../projections/queries.ts";
import { STREAM_DOES_NOT_EXIST } from "../store/expected-version.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { DEFAULT_SCRYPT_COST, hashPassword, type ScryptCost } from "../users/password.ts";
import {
  decideUser,
  evolveUser,
  initialUserState,
  normaliseEmail,
  type UserCommand,
} from "../users/user.ts";

/** The user object of the API (never holds the password or its hash). */
export interface UserObject {
  object: "user";
  id: string;
  email: string;
  entity_id: string;
  /** False once deactivated: it may not log in, and its tokens are refused. */
  active: boolean;
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
  return { object: "user", id, email, entity_id: input.entityId, active: true };
}

/**
 * Deactivates a user: it can no longer log in, and the tokens it holds are refused from their
 * next request. The keys it made are not its and keep working. Deactivating twice changes
 * nothing.
 */
export function deactivateUser(kg: Keygate, id: string, metadata: EventMetadata): UserObject {
  return changeUser(kg, id, { type: "DeactivateUser" }, metadata);
}

/** Reactivates a user: it may log in again. Reactivating an active one changes nothing. */
export function reactivateUser(kg: Keygate, id: string, metadata: EventMetadata): UserObject {
  return changeUser(kg, id, { type: "ReactivateUser" }, metadata);
}

function changeUser(
  kg: Keygate,
  id: string,
  command: UserCommand,
  metadata: EventMetadata,
): UserObject {
  const { state, version } = kg.store.aggregateStream(
    id,
    (state, event) => (isUserEvent(event) ? evolveUser(state, event) : state),
    initialUserState,
  );
  const events = decideUser(command, state);
  kg.store.appendToStream(id, events, { expectedStreamVersion: version, metadata });
  return userObject(findUser(kg.db, id) as UserRecord);
}

/** The API's user object for a stored user (its password hash left behind). */
function userObject(user: UserRecord): UserObject {
  return {
    object: "user",
    id: user.id,
    email: user.email,
    entity_id: user.entity_id,
    active: user.active,
  };
}

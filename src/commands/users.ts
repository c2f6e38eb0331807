/** Command handler for dashboard users. */
import { isUserEvent, type UserEvent } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { newId } from "../ids/index.ts";
import { codePoint } from "../input/plain-text.ts";
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
  type UserState,
} from "../users/user.ts";
import { type Aggregate, decideAndAppend } from "./aggregate.ts";

const userAggregate: Aggregate<UserCommand, UserEvent, UserState> = {
  isOwn: isUserEvent,
  decide: decideUser,
  evolve: evolveUser,
  initialState: initialUserState,
};

/** The user object of the API (never holds the password or its hash). */
export interface UserObject {
  object: "user";
  id: string;
  email: string;
  entity_id: string;
  /** False once deactivated: it may not log in, and its tokens are refused. */
  active: boolean;
  /** When the password was last changed; null if never since creation. */
  password_changed_at: string | null;
  created_at: string;
}

/** Passwords shorter than this are refused. */
export const MIN_PASSWORD_LENGTH = 10;

/**
 * Creates a dashboard user bound to an entity. The password is hashed off the event loop
 * first; what the decision reads (the entity, whether the email is taken) is read after that
 * wait, in the same turn as the append.
 */
export async function createUser(
  kg: Keygate,
  input: { email: string; password: string; entityId: string },
  metadata: EventMetadata,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<UserObject> {
  if (!findEntity(kg.db, input.entityId)) throw entityMissing(input.entityId);
  const passwordHash = await hashNewPassword({ value: input.password, field: "password" }, cost);
  return createUserWithHash(kg, { ...input, passwordHash }, metadata);
}

/**
 * {@link createUser}'s synchronous half, once the password is hashed: reads what the decision
 * needs and appends, in one turn (so that a caller can commit it with other writes).
 */
export function createUserWithHash(
  kg: Keygate,
  input: { email: string; passwordHash: string; entityId: string },
  metadata: EventMetadata,
): UserObject {
  if (!findEntity(kg.db, input.entityId)) throw entityMissing(input.entityId);
  const id = newId("usr");
  const email = normaliseEmail(input.email);
  const events = decideUser(
    {
      type: "CreateUser",
      id,
      entityId: input.entityId,
      email,
      passwordHash: input.passwordHash,
      emailTaken: emailTaken(kg.db, email),
    },
    initialUserState,
  );
  kg.store.appendToStream(id, events, { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata });
  return userObject(findUser(kg.db, id) as UserRecord);
}

function entityMissing(entityId: string): KeygateError {
  return new KeygateError("resource_missing", `No such entity: ${entityId}.`, "entity_id");
}

/**
 * Checks a new password (`field` names it in errors) and hashes it off the event loop: the
 * slow half of setting one.
 */
export async function hashNewPassword(
  password: { value: string; field: string },
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<string> {
  requireAcceptablePassword(password.value, password.field);
  return hashPassword(password.value, cost);
}

/** A control character (`\p{Cc}`: a line break, a tab, NUL, …), which no sign-in form sends. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Throws `invalid_request` naming `field` unless the password is acceptable: 10–1024
 * characters, none of them a control character. A password field cannot hold a line break or
 * a tab (a browser drops the one and moves focus on the other), so a password holding one —
 * the second line of a file piped to `--password-stdin`, say — could never be typed to sign in.
 */
export function requireAcceptablePassword(password: string, field: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > 1024)
    throw invalidRequest(`${field} must be ${MIN_PASSWORD_LENGTH}–1024 characters.`, field);
  const control = CONTROL_CHARACTER.exec(password);
  if (control)
    throw invalidRequest(
      `${field} holds the control character ${codePoint(control[0])} (a line break, a tab or another that no sign-in form sends), so it could never be typed to sign in; choose one without.`,
      field,
    );
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

/**
 * Sets a user's password (the user's own change, or an administrator's reset: the caller has
 * checked which). The tokens issued before are refused from their next request; a
 * deactivated user's password may be reset too. `field` names the password in errors.
 */
export async function changePassword(
  kg: Keygate,
  id: string,
  password: { value: string; field: string },
  metadata: EventMetadata,
  cost: ScryptCost = DEFAULT_SCRYPT_COST,
): Promise<UserObject> {
  return setPasswordHash(kg, id, await hashNewPassword(password, cost), metadata);
}

/** {@link changePassword}'s synchronous half, once the new password is hashed. */
export function setPasswordHash(
  kg: Keygate,
  id: string,
  passwordHash: string,
  metadata: EventMetadata,
): UserObject {
  return changeUser(kg, id, { type: "ChangePassword", passwordHash }, metadata);
}

/**
 * Changes a user's email, its login (an administrator's change: the caller has checked who may).
 * The same email appends nothing; one another user has is refused with `resource_conflict`. The
 * tokens the user holds keep working: they name it by id.
 */
export function changeEmail(
  kg: Keygate,
  id: string,
  email: string,
  metadata: EventMetadata,
): UserObject {
  // The user's own email counts as taken too: the decider finds it unchanged first.
  const emailTakenByAnyone = emailTaken(kg.db, normaliseEmail(email));
  return changeUser(
    kg,
    id,
    { type: "ChangeEmail", email, emailTaken: emailTakenByAnyone },
    metadata,
  );
}

function changeUser(
  kg: Keygate,
  id: string,
  command: UserCommand,
  metadata: EventMetadata,
): UserObject {
  decideAndAppend(kg, id, userAggregate, command, metadata);
  return userObject(findUser(kg.db, id) as UserRecord);
}

/** The API's user object for a stored user (its password hash left behind). */
export function userObject(user: UserRecord): UserObject {
  return {
    object: "user",
    id: user.id,
    email: user.email,
    entity_id: user.entity_id,
    active: user.active,
    password_changed_at: user.password_changed_at,
    created_at: user.created_at,
  };
}

/** Events of the user aggregate (dashboard logins). Stream id: the user id (`usr_…`). */
import { Type } from "@sinclair/typebox";
import { EntityId } from "./common.ts";
import { defineEvent, type EventOf } from "./define.ts";

const UserId = Type.String({ pattern: "^usr_[0-9A-Za-z]+$" });

/** A dashboard user was created; only a memory-hard hash of the password is kept. */
export const UserCreated = defineEvent(
  "user.created",
  1,
  Type.Object(
    {
      user_id: UserId,
      entity_id: EntityId,
      email: Type.String({ minLength: 3, maxLength: 254 }),
      password_hash: Type.String({ pattern: "^scrypt\\$" }),
    },
    { additionalProperties: false },
  ),
);

/**
 * The user was deactivated: it can no longer log in, and the tokens it holds stop working on
 * their next request. Its keys are not its: they keep working.
 */
export const UserDeactivated = defineEvent(
  "user.deactivated",
  1,
  Type.Object({ user_id: UserId }, { additionalProperties: false }),
);

/** The user was reactivated: it may log in again. */
export const UserReactivated = defineEvent(
  "user.reactivated",
  1,
  Type.Object({ user_id: UserId }, { additionalProperties: false }),
);

/**
 * The user's password was changed, by the user (knowing the old one) or reset by an
 * administrator. Only the new memory-hard hash is kept; the tokens issued before stop working.
 */
export const UserPasswordChanged = defineEvent(
  "user.password_changed",
  1,
  Type.Object(
    { user_id: UserId, password_hash: Type.String({ pattern: "^scrypt\\$" }) },
    { additionalProperties: false },
  ),
);

/**
 * The user's email (its login) was changed by an administrator. The tokens it holds keep
 * working: they name the user by id, not by email.
 */
export const UserEmailChanged = defineEvent(
  "user.email_changed",
  1,
  Type.Object(
    { user_id: UserId, email: Type.String({ minLength: 3, maxLength: 254 }) },
    { additionalProperties: false },
  ),
);

/** Every user event definition. */
export const userEvents = [
  UserCreated,
  UserDeactivated,
  UserReactivated,
  UserPasswordChanged,
  UserEmailChanged,
] as const;

/** A user event as the aggregate sees it. */
export type UserEvent =
  | EventOf<typeof UserCreated>
  | EventOf<typeof UserDeactivated>
  | EventOf<typeof UserReactivated>
  | EventOf<typeof UserPasswordChanged>
  | EventOf<typeof UserEmailChanged>;

/** Whether an event belongs to the user aggregate. */
export function isUserEvent(event: { type: string }): event is UserEvent {
  return event.type.startsWith("user.");
}

/** Events of the user aggregate (dashboard logins). Stream id: the user id (`usr_…`). */
import { Type } from "@sinclair/typebox";
import { EntityId } from "./common.ts";
import { defineEvent, type EventOf } from "./define.ts";

/** A dashboard user was created; only a memory-hard hash of the password is kept. */
export const UserCreated = defineEvent(
  "user.created",
  1,
  Type.Object(
    {
      user_id: Type.String({ pattern: "^usr_[0-9A-Za-z]+$" }),
      entity_id: EntityId,
      email: Type.String({ minLength: 3, maxLength: 254 }),
      password_hash: Type.String({ pattern: "^scrypt\\$" }),
    },
    { additionalProperties: false },
  ),
);

/** Every user event definition. */
export const userEvents = [UserCreated] as const;

/** A user event as the aggregate sees it. */
export type UserEvent = EventOf<typeof UserCreated>;

/** The user aggregate: a dashboard login bound to an entity. Pure decide/evolve. */
import type { UserEvent } from "../../events/index.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { requirePlainText } from "../input/plain-text.ts";

/** A user's state. */
export type UserState =
  | { status: "new" }
  | { status: "existing"; id: string; entityId: string; email: string; active: boolean };

/** The state before the first event. */
export const initialUserState: UserState = { status: "new" };

/** What can be asked of a user. */
export type UserCommand =
  | {
      type: "CreateUser";
      id: string;
      entityId: string;
      email: string;
      passwordHash: string;
      /** Whether another user already has this (normalised) email. */
      emailTaken: boolean;
    }
  | { type: "DeactivateUser" }
  | { type: "ReactivateUser" }
  | { type: "ChangePassword"; passwordHash: string }
  | {
      type: "ChangeEmail";
      email: string;
      /** Whether another user already has this (normalised) email. */
      emailTaken: boolean;
    };

function existing(state: UserState): Extract<UserState, { status: "existing" }> {
  if (state.status !== "existing") throw new KeygateError("resource_missing", "No such user.");
  return state;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Lower-cases and trims an email, the form stored and compared. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The email as stored, or `invalid_request` naming `email` if it is not an address. */
function checkedEmail(raw: string): string {
  const email = normaliseEmail(raw);
  if (!EMAIL.test(email) || email.length > 254)
    throw invalidRequest("email is not a valid address.", "email");
  return requirePlainText(email, "email");
}

/** Decides which events a command produces, or throws why it cannot. */
export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case "CreateUser": {
      if (state.status !== "new")
        throw new KeygateError("resource_conflict", "The user already exists.");
      const email = checkedEmail(command.email);
      if (command.emailTaken)
        throw new KeygateError(
          "resource_conflict",
          "A user with this email already exists.",
          "email",
        );
      return [
        {
          type: "user.created",
          data: {
            user_id: command.id,
            entity_id: command.entityId,
            email,
            password_hash: command.passwordHash,
          },
        },
      ];
    }
    case "DeactivateUser": {
      const user = existing(state);
      return user.active ? [{ type: "user.deactivated", data: { user_id: user.id } }] : [];
    }
    case "ReactivateUser": {
      const user = existing(state);
      return user.active ? [] : [{ type: "user.reactivated", data: { user_id: user.id } }];
    }
    case "ChangePassword": {
      // A deactivated user's password may be reset too, ready for its reactivation.
      const user = existing(state);
      return [
        {
          type: "user.password_changed",
          data: { user_id: user.id, password_hash: command.passwordHash },
        },
      ];
    }
    case "ChangeEmail": {
      // A deactivated user's email may be changed too, as its password may.
      const user = existing(state);
      const email = checkedEmail(command.email);
      if (email === user.email) return [];
      if (command.emailTaken)
        throw new KeygateError(
          "resource_conflict",
          "A user with this email already exists.",
          "email",
        );
      return [{ type: "user.email_changed", data: { user_id: user.id, email } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}

/** Applies one event to the state. */
export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case "user.created":
      return {
        status: "existing",
        id: event.data.user_id,
        entityId: event.data.entity_id,
        email: event.data.email,
        active: true,
      };
    case "user.deactivated":
      return { ...existing(state), active: false };
    case "user.reactivated":
      return { ...existing(state), active: true };
    case "user.password_changed":
      return existing(state);
    case "user.email_changed":
      return { ...existing(state), email: event.data.email };
    default: {
      const _exhaustive: never = event;
      throw new Error(`unknown event ${JSON.stringify(_exhaustive)}`);
    }
  }
}

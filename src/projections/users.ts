/**
 * Read model of dashboard users, by id and by email, with whether each may log in and its
 * current password hash.
 */
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";
import { type UniqueRule, writeUnique } from "./unique-writes.ts";

/** One user per email (as the decider says it). */
const UNIQUE_EMAIL: UniqueRule = {
  columns: "users.email",
  message: "A user with this email already exists.",
  param: "email",
};

/** Builds the users projection over a connection. */
export function usersProjection(sql: SqlConnection): InlineProjection {
  return {
    name: "users",
    // 2: the `active` flag (user.deactivated / user.reactivated).
    // 3: password changes (user.password_changed) and `password_changed_at`.
    // 4: email changes (user.email_changed).
    version: 4,
    tables: ["users"],
    apply(event: RecordedEvent) {
      switch (event.type) {
        case "user.created": {
          const d = event.data;
          writeUnique([UNIQUE_EMAIL], () =>
            sql
              .prepare(
                "INSERT INTO users (id, email, password_hash, entity_id, created_at, active) VALUES (?, ?, ?, ?, ?, 1)",
              )
              .run(d.user_id, d.email, d.password_hash, d.entity_id, event.recordedAt),
          );
          return;
        }
        case "user.deactivated":
        case "user.reactivated":
          sql
            .prepare("UPDATE users SET active = ? WHERE id = ?")
            .run(event.type === "user.reactivated" ? 1 : 0, event.data.user_id);
          return;
        case "user.password_changed":
          sql
            .prepare("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?")
            .run(event.data.password_hash, event.recordedAt, event.data.user_id);
          return;
        case "user.email_changed":
          writeUnique([UNIQUE_EMAIL], () =>
            sql
              .prepare("UPDATE users SET email = ? WHERE id = ?")
              .run(event.data.email, event.data.user_id),
          );
          return;
        default:
          return;
      }
    },
  };
}

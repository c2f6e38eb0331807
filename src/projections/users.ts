/** Read model of dashboard users, by id and by email, with whether each may log in. */
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";

/** Builds the users projection over a connection. */
export function usersProjection(sql: SqlConnection): InlineProjection {
  return {
    name: "users",
    // 2: the `active` flag (user.deactivated / user.reactivated).
    version: 2,
    tables: ["users"],
    apply(event: RecordedEvent) {
      switch (event.type) {
        case "user.created": {
          const d = event.data;
          sql
            .prepare(
              "INSERT INTO users (id, email, password_hash, entity_id, created_at, active) VALUES (?, ?, ?, ?, ?, 1)",
            )
            .run(d.user_id, d.email, d.password_hash, d.entity_id, event.recordedAt);
          return;
        }
        case "user.deactivated":
        case "user.reactivated":
          sql
            .prepare("UPDATE users SET active = ? WHERE id = ?")
            .run(event.type === "user.reactivated" ? 1 : 0, event.data.user_id);
          return;
        default:
          return;
      }
    },
  };
}

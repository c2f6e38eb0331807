/** Read model of dashboard users, by id and by email. */
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";

/** Builds the users projection over a connection. */
export function usersProjection(sql: SqlConnection): InlineProjection {
  return {
    name: "users",
    version: 1,
    tables: ["users"],
    apply(event: RecordedEvent) {
      if (event.type !== "user.created") return;
      const d = event.data;
      sql
        .prepare(
          "INSERT INTO users (id, email, password_hash, entity_id, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .run(d.user_id, d.email, d.password_hash, d.entity_id, event.recordedAt);
    },
  };
}

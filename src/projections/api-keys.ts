/**
 * Read model of API keys: `api_keys` (by id) and `api_key_secrets` (by secret hash, current
 * and rotated-out secrets with the time they stop working). Rows are kept after revocation
 * and expiry so a dead secret is told apart from an unknown one.
 */
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";

/** Builds the api_keys projection over a connection. */
export function apiKeysProjection(sql: SqlConnection): InlineProjection {
  return {
    name: "api_keys",
    version: 1,
    tables: ["api_keys", "api_key_secrets"],
    apply(event: RecordedEvent) {
      switch (event.type) {
        case "api_key.created": {
          const d = event.data;
          sql
            .prepare(
              "INSERT INTO api_keys (id, entity_id, environment, kind, name, scopes, prefix, masked, public_key, rate_limit, rate_limit_window_seconds, status, created_at, updated_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, NULL)",
            )
            .run(
              d.key_id,
              d.entity_id,
              d.environment,
              d.kind,
              d.name,
              JSON.stringify(d.scopes),
              d.prefix,
              d.masked,
              d.public_key,
              d.rate_limit?.limit ?? null,
              d.rate_limit?.window_seconds ?? null,
              event.recordedAt,
              event.recordedAt,
              d.expires_at,
            );
          sql
            .prepare(
              "INSERT INTO api_key_secrets (secret_hash, key_id, salt, expires_at) VALUES (?, ?, ?, NULL)",
            )
            .run(d.secret_hash, d.key_id, d.salt);
          return;
        }
        case "api_key.updated": {
          const d = event.data;
          if (d.name !== undefined)
            sql.prepare("UPDATE api_keys SET name = ? WHERE id = ?").run(d.name, d.key_id);
          if (d.scopes !== undefined) {
            sql
              .prepare("UPDATE api_keys SET scopes = ? WHERE id = ?")
              .run(JSON.stringify(d.scopes), d.key_id);
          }
          if (d.rate_limit !== undefined) {
            sql
              .prepare(
                "UPDATE api_keys SET rate_limit = ?, rate_limit_window_seconds = ? WHERE id = ?",
              )
              .run(d.rate_limit?.limit ?? null, d.rate_limit?.window_seconds ?? null, d.key_id);
          }
          sql
            .prepare("UPDATE api_keys SET updated_at = ? WHERE id = ?")
            .run(event.recordedAt, d.key_id);
          return;
        }
        case "api_key.rotated": {
          const d = event.data;
          sql
            .prepare(
              "UPDATE api_key_secrets SET expires_at = ?1 WHERE key_id = ?2 AND (expires_at IS NULL OR expires_at > ?1)",
            )
            .run(d.previous_expires_at, d.key_id);
          sql
            .prepare(
              "INSERT INTO api_key_secrets (secret_hash, key_id, salt, expires_at) VALUES (?, ?, ?, NULL)",
            )
            .run(d.secret_hash, d.key_id, d.salt);
          sql
            .prepare("UPDATE api_keys SET prefix = ?, masked = ?, updated_at = ? WHERE id = ?")
            .run(d.prefix, d.masked, event.recordedAt, d.key_id);
          return;
        }
        case "api_key.revoked":
          sql
            .prepare(
              "UPDATE api_keys SET status = 'revoked', revoked_at = ?1, updated_at = ?1 WHERE id = ?2",
            )
            .run(event.recordedAt, event.data.key_id);
          return;
        default:
          return;
      }
    },
  };
}

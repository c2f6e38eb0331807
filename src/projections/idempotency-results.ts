/**
 * Read model of recorded idempotent results: for each scope (`{entity}:{scope}:{key}`) the
 * latest result's fingerprint, where its sealed response lies in the log, and when it
 * expires. A rebuild restores expired rows too; lookups ignore them and the sweep removes
 * them.
 */
import type { SqlConnection } from "../db/sql.ts";
import type { InlineProjection, RecordedEvent } from "../store/recorded-event.ts";

/** The projection row key of an Idempotency-Key in its entity and environment. */
export function idempotencyScopeKey(entityId: string, scope: string, key: string): string {
  return `${entityId}:${scope}:${key}`;
}

/** Builds the idempotency-results projection over a connection. */
export function idempotencyResultsProjection(sql: SqlConnection): InlineProjection {
  return {
    name: "idempotency_results",
    version: 1,
    tables: ["idempotency_results"],
    apply(event: RecordedEvent) {
      if (event.type !== "idempotency.recorded") return;
      const d = event.data;
      sql
        .prepare(
          "INSERT OR REPLACE INTO idempotency_results (scope_key, fingerprint, position, stream_version, data_key_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(
          idempotencyScopeKey(d.entity_id, d.scope, d.idempotency_key),
          d.fingerprint,
          event.position,
          event.streamVersion,
          d.data_key_id,
          Date.parse(d.expires_at),
        );
    },
  };
}

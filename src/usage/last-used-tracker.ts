/**
 * `last_used_at` without a database write per request: authentication touches an in-memory
 * map, and {@link LastUsedTracker.flush} writes every pending time in one transaction (the
 * server does it every few seconds and on shutdown). A crash loses at most one interval.
 */
import type { SqlConnection } from "../db/sql.ts";

/** How often `serve` flushes, in milliseconds. */
export const LAST_USED_FLUSH_MS = 5_000;

/** Pending last-used times, flushed in batches. */
export class LastUsedTracker {
  readonly #sql: SqlConnection;
  #pending = new Map<string, number>();
  /** The last time formatted, and its ISO form: under load, many requests share a millisecond. */
  #formatted = { ms: Number.NaN, iso: "" };

  constructor(sql: SqlConnection) {
    this.#sql = sql;
  }

  /** Records a use of the key (O(1), no I/O). */
  touch(keyId: string, at: Date): void {
    this.#pending.set(keyId, at.getTime());
  }

  /** The key's last use: the pending one if any, else the stored one, else null. */
  lastUsedAt(keyId: string): string | null {
    const pending = this.#pending.get(keyId);
    if (pending !== undefined) {
      if (pending !== this.#formatted.ms)
        this.#formatted = { ms: pending, iso: new Date(pending).toISOString() };
      return this.#formatted.iso;
    }
    return (
      this.#sql
        .prepare<{ last_used_at: string }>(
          "SELECT last_used_at FROM api_key_usage WHERE key_id = ?",
        )
        .get(keyId)?.last_used_at ?? null
    );
  }

  /** How many keys have a use not yet written. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes every pending time in one transaction (never moving a time backwards). */
  flush(): number {
    if (this.#pending.size === 0) return 0;
    const batch = this.#pending;
    this.#pending = new Map();
    const upsert = this.#sql.prepare(
      "INSERT INTO api_key_usage (key_id, last_used_at) VALUES (?1, ?2) ON CONFLICT (key_id) DO UPDATE SET last_used_at = max(last_used_at, ?2)",
    );
    try {
      this.#sql.transaction(() => {
        for (const [keyId, at] of batch) upsert.run(keyId, new Date(at).toISOString());
      });
    } catch (error) {
      // Keep what could not be written for the next flush (newer touches win).
      for (const [keyId, at] of batch) if (!this.#pending.has(keyId)) this.#pending.set(keyId, at);
      throw error;
    }
    return batch.size;
  }
}

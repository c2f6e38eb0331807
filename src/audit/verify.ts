/**
 * `keygate audit verify`: proves the log was not altered. One pass over every event, from
 * genesis, in constant memory but for one number per stream:
 *
 * - global positions run 1, 2, 3… with no gap (a deleted event, a truncated middle);
 * - each `prev_hash` is the previous event's hash, and each hash is recomputed from the
 *   stored bytes (a changed byte anywhere, two events swapped);
 * - each event validates against its schema in `events/`;
 * - each stream's versions run 1..n in log order, and end where the streams table says;
 * - the head matches the latest signed checkpoint: its signature is valid for the
 *   deployment's key, the log still has as many events as it vouched for (a truncated tail),
 *   and the hash at that position is the one it signed (a history rewritten with a
 *   recomputed chain).
 *
 * It stops at the first problem and names its position.
 */

import { upcastStoredEvent } from "../../events/index.ts";
import type { SqlConnection } from "../db/sql.ts";
import type { EventRow } from "../store/event-store.ts";
import { chainHash, GENESIS_HASH } from "../store/hash-chain.ts";
import { type Checkpoint, latestCheckpoint, signatureValid } from "./checkpoints.ts";

/** What verification found. */
export type VerifyReport =
  | { ok: true; events: number; head: string; checkpoint: Checkpoint | undefined }
  | { ok: false; events: number; position: number; problem: string };

/** Options of {@link verifyLog}. */
export interface VerifyOptions {
  /** The public key (SPKI DER, base64) checkpoints must be signed with, if known. */
  trustedPublicKey?: string;
}

/** The hash of a stored event, recomputed from its stored bytes (data and metadata as stored). */
export function rowHash(prevHash: string, row: EventRow): string {
  return chainHash(prevHash, {
    position: row.position,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  });
}

/** Verifies the whole log. */
export function verifyLog(sql: SqlConnection, options: VerifyOptions = {}): VerifyReport {
  const checkpoint = latestCheckpoint(sql);
  const fail = (events: number, position: number, problem: string): VerifyReport => ({
    ok: false,
    events,
    position,
    problem,
  });
  if (checkpoint && !signatureValid(checkpoint))
    return fail(0, checkpoint.size, "the latest checkpoint's signature is not valid");
  if (checkpoint && options.trustedPublicKey && checkpoint.public_key !== options.trustedPublicKey)
    return fail(
      0,
      checkpoint.size,
      "the latest checkpoint is signed with a key that is not the trusted one",
    );

  const versions = new Map<string, number>();
  let prev = GENESIS_HASH;
  let count = 0;
  const rows = sql.prepare<EventRow>("SELECT * FROM events ORDER BY position").iterate();
  for (const row of rows) {
    const expected = count + 1;
    if (row.position !== expected)
      return fail(
        count,
        expected,
        `event ${expected} is missing (the next event is at ${row.position})`,
      );
    if (row.prev_hash !== prev)
      return fail(count, row.position, "prev_hash is not the previous event's hash");
    if (rowHash(prev, row) !== row.hash)
      return fail(count, row.position, "the stored hash is not the hash of the stored event");
    try {
      upcastStoredEvent(row.type, row.schema_version, JSON.parse(row.data));
    } catch (error) {
      return fail(
        count,
        row.position,
        `the event does not match its schema: ${(error as Error).message}`,
      );
    }
    const streamVersion = (versions.get(row.stream_id) ?? 0) + 1;
    if (row.stream_version !== streamVersion)
      return fail(
        count,
        row.position,
        `stream ${row.stream_id} is at version ${row.stream_version} where ${streamVersion} was due`,
      );
    versions.set(row.stream_id, streamVersion);
    if (checkpoint && row.position === checkpoint.size && row.hash !== checkpoint.head_hash)
      return fail(count, row.position, "the log differs from the signed checkpoint at its head");
    prev = row.hash;
    count = expected;
  }

  for (const stream of sql
    .prepare<{ stream_id: string; version: number }>("SELECT stream_id, version FROM streams")
    .iterate()) {
    const found = versions.get(stream.stream_id) ?? 0;
    if (found !== stream.version)
      return fail(
        count,
        count + 1,
        `stream ${stream.stream_id} has ${found} events in the log but the streams table says ${stream.version}`,
      );
    versions.delete(stream.stream_id);
  }
  const [orphan] = versions.keys();
  if (orphan !== undefined)
    return fail(count, count, `stream ${orphan} has events but no row in the streams table`);
  if (checkpoint && count < checkpoint.size)
    return fail(
      count,
      count + 1,
      `the log ends at ${count} events but the signed checkpoint vouched for ${checkpoint.size}: its tail is gone`,
    );
  return { ok: true, events: count, head: prev, checkpoint };
}

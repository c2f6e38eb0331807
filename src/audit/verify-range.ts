/**
 * The per-event half of `audit verify`, over one range of global positions: positions run
 * without a gap, each `prev_hash` is the previous event's hash, each hash is recomputed from
 * the stored bytes, each event validates against its schema, and the event each checkpoint
 * vouches for (the latest signed one, and any the auditor kept) carries the hash it signed.
 * Ranges are independent, so a long log is split into one range per core (audit-worker.ts)
 * and the ranges are joined afterwards (verify.ts): the first event of a range must chain to
 * the last hash of the one before.
 */
import { upcastStoredEvent } from "../../events/index.ts";
import type { SqlConnection } from "../db/sql.ts";
import { chainHash } from "../store/hash-chain.ts";

/** The first thing found wrong, and where. */
export interface Problem {
  position: number;
  problem: string;
}

/** A checkpoint as the per-event checks see it: where it vouches, and for what. */
export interface CheckpointHead {
  size: number;
  headHash: string;
  /** How problems name it: "latest signed checkpoint", "held checkpoint". */
  name: string;
}

/** What a range asks for: positions `from`..`to` inclusive, and the checkpoints' heads. */
export interface RangeRequest {
  from: number;
  to: number;
  /** The checkpoints the log is held to (none before the first is signed). */
  checkpoints: CheckpointHead[];
}

/** What one range showed. */
export interface RangeReport {
  from: number;
  /** Events verified before the first problem (all of them when there is none). */
  verified: number;
  /** The stored `prev_hash` of the range's first event (joined to the previous range). */
  firstPrevHash: string | undefined;
  /** The hash of the range's last event. */
  lastHash: string | undefined;
  problem?: Problem;
}

/** Rows per read: a bounded batch as arrays, faster than one object per row. */
const BATCH = 4096;

const SELECT_RANGE =
  "SELECT position, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, prev_hash, hash FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?";

/** Verifies the events at positions `from`..`to`, in order, stopping at the first problem. */
export function verifyRange(sql: SqlConnection, request: RangeRequest): RangeReport {
  const { from, to, checkpoints } = request;
  const select = sql.prepare(SELECT_RANGE);
  const report: RangeReport = {
    from,
    verified: 0,
    firstPrevHash: undefined,
    lastHash: undefined,
  };
  let expected = from;
  let prev: string | undefined;
  while (expected <= to) {
    const rows = select.values(expected, to, BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      const position = row[0] as number;
      if (position !== expected) {
        report.problem = {
          position: expected,
          problem: `event ${expected} is missing (the next event is at ${position})`,
        };
        return report;
      }
      if (prev === undefined) report.firstPrevHash = row[8] as string;
      const problem = eventProblem(row, prev, checkpoints);
      if (problem) {
        report.problem = { position, problem };
        return report;
      }
      prev = row[9] as string;
      report.lastHash = prev;
      report.verified++;
      expected++;
    }
  }
  if (expected <= to) {
    const next = sql
      .prepare<{ p: number | null }>("SELECT MIN(position) AS p FROM events WHERE position > ?")
      .get(expected)?.p;
    report.problem = {
      position: expected,
      problem:
        next == null
          ? `event ${expected} is missing`
          : `event ${expected} is missing (the next event is at ${next})`,
    };
  }
  return report;
}

/** What is wrong with one stored row (columns as SELECT_RANGE lists them), if anything. */
function eventProblem(
  row: unknown[],
  prev: string | undefined,
  checkpoints: readonly CheckpointHead[],
): string | undefined {
  const [position, streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt] =
    row as [number, string, number, string, number, string, string, string];
  const prevHash = row[8] as string;
  const hash = row[9] as string;
  if (prev !== undefined && prevHash !== prev) return "prev_hash is not the previous event's hash";
  const recomputed = chainHash(prevHash, {
    position,
    streamId,
    streamVersion,
    type,
    schemaVersion,
    data,
    metadata,
    recordedAt,
  });
  if (recomputed !== hash) return "the stored hash is not the hash of the stored event";
  try {
    upcastStoredEvent(type, schemaVersion, JSON.parse(data));
  } catch (error) {
    return `the event does not match its schema: ${(error as Error).message}`;
  }
  for (const checkpoint of checkpoints)
    if (position === checkpoint.size && hash !== checkpoint.headHash)
      return `the log differs from the ${checkpoint.name} at its head`;
  return undefined;
}

/**
 * `keygate audit verify`: proves the log was not altered. Every event from genesis, in
 * constant memory:
 *
 * - global positions run 1, 2, 3… with no gap (a deleted event, a truncated middle);
 * - each `prev_hash` is the previous event's hash, and each hash is recomputed from the
 *   stored bytes (a changed byte anywhere, two events swapped);
 * - each event validates against its schema in `events/`;
 * - each stream's versions run 1..n in log order, and end where the streams table says;
 * - the head matches the latest signed checkpoint, and any checkpoint the auditor kept: its
 *   signature is valid for the deployment's key, the log still has as many events as it
 *   vouched for (a truncated tail), and the hash at that position is the one it signed (a
 *   history rewritten with a recomputed chain).
 *
 * The per-event checks run over ranges of positions (verify-range.ts), one worker thread per
 * core on a long log (audit-thread.ts), joined here; the stream checks, two ordered scans merged
 * (stream-checks.ts), run on this thread meanwhile. The first problem in log order is
 * reported, with its position.
 */

import { availableParallelism } from "node:os";
import type { SqlConnection } from "../db/sql.ts";
import { headPositionOf } from "../store/event-store.ts";
import { GENESIS_HASH } from "../store/hash-chain.ts";
import { startAuditWorker } from "./audit-thread.ts";
import { type Checkpoint, latestCheckpoint, signatureValid } from "./checkpoints.ts";
import { streamProblem } from "./stream-checks.ts";
import {
  type CheckpointHead,
  type RangeReport,
  type RangeRequest,
  verifyRange,
} from "./verify-range.ts";

/** What verification found. */
export type VerifyReport =
  | { ok: true; events: number; head: string; checkpoint: Checkpoint | undefined }
  | { ok: false; events: number; position: number; problem: string };

/** Options of {@link verifyLog}. */
export interface VerifyOptions {
  /** The public key (SPKI DER, base64) checkpoints must be signed with, if known. */
  trustedPublicKey?: string;
  /**
   * A checkpoint the auditor kept from an earlier time (`GET /v1/audit/checkpoint`): the log
   * must still reach it and hold the hash it signed, whatever became of the database's own
   * checkpoints since — a forger who cuts the tail can delete the checkpoints covering it.
   */
  heldCheckpoint?: Checkpoint;
  /**
   * The public key (SPKI DER, base64) the held checkpoint must be signed with, when it is not
   * `trustedPublicKey`: a checkpoint kept from before the checkpoint key was replaced.
   */
  heldCheckpointPublicKey?: string;
}

/** Options of {@link verifyLogInParallel}. */
export interface ParallelVerifyOptions extends VerifyOptions {
  /** Worker threads at most (default: one per core). */
  workers?: number;
  /** Fewer events than this per worker and the log is verified on this thread (default 50,000). */
  minEventsPerWorker?: number;
}

type Failure = Extract<VerifyReport, { ok: false }>;

const failure = (events: number, position: number, problem: string): Failure => ({
  ok: false,
  events,
  position,
  problem,
});

/** What is known before any event is read: the checkpoints, vetted, and the log's head. */
type Start = { checkpoint: Checkpoint | undefined; heads: CheckpointHead[]; head: number };

/** What is wrong with a checkpoint's signature or signer, if anything. */
function signerProblem(
  checkpoint: Checkpoint,
  name: string,
  trustedPublicKey: string | undefined,
): string | undefined {
  if (!signatureValid(checkpoint)) return `the ${name}'s signature is not valid`;
  if (trustedPublicKey && checkpoint.public_key !== trustedPublicKey)
    return `the ${name} is signed with a key that is not the trusted one`;
  return undefined;
}

function start(sql: SqlConnection, options: VerifyOptions): Start | Failure {
  const vouching: [Checkpoint | undefined, string, string | undefined][] = [
    [latestCheckpoint(sql), "latest signed checkpoint", options.trustedPublicKey],
    [
      options.heldCheckpoint,
      "held checkpoint",
      options.heldCheckpointPublicKey ?? options.trustedPublicKey,
    ],
  ];
  const heads: CheckpointHead[] = [];
  for (const [checkpoint, name, trustedPublicKey] of vouching) {
    if (!checkpoint) continue;
    const problem = signerProblem(checkpoint, name, trustedPublicKey);
    if (problem) return failure(0, checkpoint.size, problem);
    heads.push({ size: checkpoint.size, headHash: checkpoint.head_hash, name });
  }
  return { checkpoint: vouching[0]?.[0], heads, head: headPositionOf(sql) };
}

/** Positions 1..head cut into `parts` contiguous ranges. */
function ranges({ heads, head }: Start, parts: number): RangeRequest[] {
  const size = Math.ceil(head / parts);
  const out: RangeRequest[] = [];
  for (let from = 1; from <= head; from += size)
    out.push({ from, to: Math.min(head, from + size - 1), checkpoints: heads });
  return out;
}

/**
 * Joins the ranges' reports in log order (each range's first event must chain to the
 * previous range's last hash), then the stream checks and the checkpoints' sizes.
 */
function finish(
  { checkpoint, heads }: Start,
  reports: readonly RangeReport[],
  streams: () => ReturnType<typeof streamProblem>,
): VerifyReport {
  let verified = 0;
  let prev = GENESIS_HASH;
  for (const report of reports) {
    if (report.firstPrevHash !== undefined && report.firstPrevHash !== prev)
      return failure(verified, report.from, "prev_hash is not the previous event's hash");
    if (report.problem)
      return failure(verified + report.verified, report.problem.position, report.problem.problem);
    verified += report.verified;
    prev = report.lastHash ?? prev;
  }
  const stream = streams();
  if (stream) return failure(verified, stream.position, stream.problem);
  for (const { size, name } of heads)
    if (verified < size)
      return failure(
        verified,
        verified + 1,
        `the log ends at ${verified} events but the ${name} vouched for ${size}: its tail is gone`,
      );
  return { ok: true, events: verified, head: prev, checkpoint };
}

/** Verifies the whole log on this thread. */
export function verifyLog(sql: SqlConnection, options: VerifyOptions = {}): VerifyReport {
  const begun = start(sql, options);
  if ("ok" in begun) return begun;
  const reports = ranges(begun, 1).map((range) => verifyRange(sql, range));
  return finish(begun, reports, () => streamProblem(sql, begun.head));
}

/**
 * Verifies the whole log of the database file at `dbPath` (open on `sql`), one range per
 * worker thread; the stream checks run on this thread meanwhile. Short logs, and in-memory
 * databases that a worker cannot open, are verified on this thread alone.
 */
export async function verifyLogInParallel(
  dbPath: string,
  sql: SqlConnection,
  options: ParallelVerifyOptions = {},
): Promise<VerifyReport> {
  const begun = start(sql, options);
  if ("ok" in begun) return begun;
  const parts = Math.min(
    options.workers ?? availableParallelism(),
    Math.floor(begun.head / (options.minEventsPerWorker ?? 50_000)),
  );
  if (dbPath === ":memory:" || parts < 2) return verifyLog(sql, options);
  const requests = ranges(begun, parts);
  const workers = await Promise.all(requests.map(() => startAuditWorker()));
  const pending = workers.map((run, i) =>
    run({ kind: "range", dbPath, request: requests[i] as RangeRequest }),
  );
  // While the workers hash, this thread asks SQLite about the streams.
  const streams = streamProblem(sql, begun.head);
  return finish(begun, await Promise.all(pending), () => streams);
}

/**
 * Audit work on a worker thread, with its own connection to the database file: the ranges of a
 * long log that `audit verify` splits between cores, and, for the server, a whole verification
 * or replay — which would otherwise hold the thread that serves requests for seconds.
 */
import type { ReplayReport } from "./replay.ts";
import type { VerifyOptions, VerifyReport } from "./verify.ts";
import type { RangeReport, RangeRequest } from "./verify-range.ts";

/** What a worker is asked to do, on the database file at `dbPath`. */
export type AuditJob =
  | { kind: "range"; dbPath: string; request: RangeRequest }
  | { kind: "verify"; dbPath: string; options: VerifyOptions }
  /** `clockOffsetMs`: the caller's clock less the system's, which the worker's clock keeps. */
  | { kind: "replay"; dbPath: string; clockOffsetMs: number };

/** What each kind of job answers. */
export interface AuditResults {
  range: RangeReport;
  verify: VerifyReport;
  replay: ReplayReport;
}

/** A worker's first message: it is listening for its {@link AuditJob}. */
export const WORKER_READY = "ready";

/** Hands a started worker its one job; settles with its result, and the worker ends. */
export type AuditJobRunner = <J extends AuditJob>(job: J) => Promise<AuditResults[J["kind"]]>;

/**
 * The worker's module: beside this one — or, in the one-file binary (`bun run build`, where
 * it is the second entry point), where the build puts it: `audit/audit-worker.js` under the
 * executable's embedded root, which is where this code then runs from.
 */
const WORKER_MODULE = import.meta.url.startsWith("file:///$bunfs/")
  ? new URL("./audit/audit-worker.js", import.meta.url)
  : new URL("./audit-worker.ts", import.meta.url);

/**
 * Starts a worker thread and resolves once it listens (its module loads asynchronously, and
 * a job posted earlier would be lost) with the function that hands it its job.
 */
export function startAuditWorker(): Promise<AuditJobRunner> {
  const worker = new Worker(WORKER_MODULE, { type: "module" });
  let settle: { resolve(result: unknown): void; reject(error: Error): void } | undefined;
  return new Promise((ready, failed) => {
    worker.onerror = (event) => {
      const error = new Error(`audit worker failed: ${event.message}`);
      worker.terminate();
      if (settle) settle.reject(error);
      else failed(error);
    };
    worker.onmessage = ({ data }: MessageEvent<unknown>) => {
      if (data !== WORKER_READY) {
        worker.terminate();
        settle?.resolve(data);
        return;
      }
      ready(
        <J extends AuditJob>(job: J) =>
          new Promise<AuditResults[J["kind"]]>((resolve, reject) => {
            settle = { resolve: resolve as (result: unknown) => void, reject };
            worker.postMessage(job);
          }),
      );
    };
  });
}

/** Runs one job on a worker thread of its own. */
export async function runOnAuditThread<J extends AuditJob>(
  job: J,
): Promise<AuditResults[J["kind"]]> {
  return (await startAuditWorker())(job);
}

/**
 * `run`, one at a time: a call while an earlier one is still running gets that run's answer
 * (or failure) instead of starting another, so a server asked for a verification by many
 * callers at once runs one. A call after it settled runs afresh.
 */
export function oneAtATime<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
}

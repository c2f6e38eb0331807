/**
 * An audit worker thread (audit-thread.ts): runs the one job it is sent on its own connection
 * to the database file — a range of `audit verify`, a whole verification, or a replay — and
 * posts the result back.
 */
import { openDriver } from "../db/driver.ts";
import type { SqlConnection } from "../db/sql.ts";
import { type AuditJob, type AuditResults, WORKER_READY } from "./audit-thread.ts";
import { replayAndCompare } from "./replay.ts";
import { verifyLog } from "./verify.ts";
import { verifyRange } from "./verify-range.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<AuditJob>) => void) | null;
  postMessage(message: unknown): void;
};

function onConnection<T>(dbPath: string, use: (sql: SqlConnection) => T): T {
  const connection = openDriver(dbPath);
  try {
    return use(connection.sql);
  } finally {
    connection.close();
  }
}

function run(job: AuditJob): AuditResults[AuditJob["kind"]] {
  switch (job.kind) {
    case "range":
      return onConnection(job.dbPath, (sql) => verifyRange(sql, job.request));
    case "verify":
      return onConnection(job.dbPath, (sql) => verifyLog(sql, job.options));
    case "replay":
      return replayAndCompare(job.dbPath, {
        now: () => new Date(Date.now() + job.clockOffsetMs),
      });
  }
}

scope.onmessage = ({ data }) => scope.postMessage(run(data));
// The driver is loaded with a top-level await, so this module finishes loading after the
// worker starts: a job posted before now would be lost. Say when it may be sent.
scope.postMessage(WORKER_READY);

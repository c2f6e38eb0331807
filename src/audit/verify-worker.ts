/**
 * A worker thread of `audit verify`: opens its own connection to the database file and
 * verifies one range of positions (verify-range.ts), then posts the report back.
 */
import { openDriver } from "../db/driver.ts";
import { type RangeJob, verifyRange, WORKER_READY } from "./verify-range.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<RangeJob>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = ({ data: { dbPath, request } }) => {
  const connection = openDriver(dbPath);
  try {
    scope.postMessage(verifyRange(connection.sql, request));
  } finally {
    connection.close();
  }
};
// The driver is loaded with a top-level await, so this module finishes loading after the
// worker starts: a job posted before now would be lost. Say when it may be sent.
scope.postMessage(WORKER_READY);

/** `keygate serve`: start the HTTP server (running `init` first on an empty database). */
import { setImmediate } from "node:timers";
import type { Keygate } from "../app/keygate.ts";
import { checkpointKey } from "../audit/checkpoint-key.ts";
import { appendCheckpoint } from "../audit/checkpoints.ts";
import { createApp, stdoutAccessLog } from "../http/app.ts";
import { findPlatformEntity } from "../projections/queries.ts";
import { LAST_USED_FLUSH_MS } from "../usage/last-used-tracker.ts";
import { everyInterval, everyIntervalOneAtATime } from "./background.ts";
import { runInit } from "./init.ts";
import { type Listening, listen } from "./listen.ts";
import { holdServeLock } from "./serve-lock.ts";

/** How often the key index looks for commits made by other processes (the CLI). */
export const KEY_INDEX_SYNC_MS = 100;

/** How often expired idempotent results are swept (their data keys destroyed). */
export const IDEMPOTENCY_SWEEP_MS = 60_000;

/** How long a stop waits for the requests in flight before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Resolves after the current turn of the event loop and the callbacks it queued have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts serving; resolves once the port is open. */
export async function runServe(kg: Keygate): Promise<void> {
  const accessLog = kg.config.accessLog ? stdoutAccessLog() : undefined;
  const app = createApp(kg, { accessLog: accessLog ?? false });
  // One server per database (serve-lock.ts), then the port: a start that cannot listen must
  // not have created (and shown) keys.
  const lock = holdServeLock(kg.config.dbPath);
  let server: Listening;
  try {
    server = listen(app, kg.config);
  } catch (error) {
    lock?.release();
    throw error;
  }
  if (!findPlatformEntity(kg.db)) runInit(kg, false);
  // Background work: a failure is reported and retried, never a crash (background.ts).
  const sync = everyInterval(KEY_INDEX_SYNC_MS, () => kg.keyIndex.sync());
  const flush = everyInterval(LAST_USED_FLUSH_MS, () => kg.usage.flush());
  // A sweep can take several turns of the event loop; the last is awaited before closing.
  const sweep = everyIntervalOneAtATime(IDEMPOTENCY_SWEEP_MS, () => kg.idempotency.sweep());
  // A signed checkpoint at start and then periodically, whenever the log has grown.
  const key = checkpointKey(kg.config);
  const interval = kg.config.audit.checkpointIntervalSeconds;
  if (interval > 0) appendCheckpoint(kg.db.sql, key, kg.now());
  const checkpoints =
    interval > 0
      ? everyInterval(interval * 1000, () => appendCheckpoint(kg.db.sql, key, kg.now()))
      : undefined;
  // On SIGINT/SIGTERM: stop accepting, let the requests in flight finish (an idempotent
  // request's result is committed before its response goes out), write their access lines
  // (queued a turn after each response), then flush last-used times and close the database.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(checkpoints);
    clearInterval(sync);
    clearInterval(flush);
    const swept = sweep.stop();
    await Promise.race([server.stop(), sleep(SHUTDOWN_GRACE_MS)]);
    await swept;
    await nextTurn();
    await nextTurn();
    accessLog?.flush();
    kg.close(); // flushes pending last-used times
    lock?.release();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stdout.write(
    `Keygate listening on ${server.scheme}://${displayHost(kg.config.host)}:${server.port} (database ${kg.config.dbPath})\n`,
  );
}

/** How the start-up line names the host: `localhost` for every interface, IPv6 in brackets. */
function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

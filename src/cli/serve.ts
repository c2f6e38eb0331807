/** `keygate serve`: start the HTTP server (running `init` first on an empty database). */
import { setImmediate } from "node:timers";
import { keysToServeWith, startBackgroundWork } from "../app/background-work.ts";
import type { Keygate } from "../app/keygate.ts";
import { createApp, stdoutAccessLog } from "../http/app.ts";
import { reportToStderr } from "../http/request-context.ts";
import { findPlatformEntity } from "../projections/queries.ts";
import { runInit } from "./init.ts";
import { type Listening, listen } from "./listen.ts";
import { holdServeLock } from "./serve-lock.ts";

/** How long a stop waits for the requests in flight before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Resolves after the current turn of the event loop and the callbacks it queued have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts serving; resolves once the port is open. */
export async function runServe(kg: Keygate): Promise<void> {
  const accessLog = kg.config.accessLog ? stdoutAccessLog() : undefined;
  const app = createApp(kg, { accessLog: accessLog ?? false });
  keysToServeWith(kg); // refused here, before the port opens, rather than once serving

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
  const work = startBackgroundWork(kg, reportToStderr);
  // On SIGINT/SIGTERM: stop accepting, let the requests in flight finish (an idempotent
  // request's result is committed before its response goes out), write their access lines
  // (queued a turn after each response), then flush last-used times and close the database.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const stopped = work.stop();
    await Promise.race([server.stop(), sleep(SHUTDOWN_GRACE_MS)]);
    await stopped;
    await nextTurn();
    await nextTurn();
    accessLog?.flush();
    const closed = closeReporting(kg);
    lock?.release();
    process.exit(closed ? 0 : 1);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stdout.write(
    `Keygate listening on ${server.scheme}://${displayHost(kg.config.host)}:${server.port} (database ${kg.config.dbPath})\n`,
  );
}

/**
 * Closes `kg`, flushing its pending last-used times. When that fails — another process holds
 * the write lock past `busy_timeout`, the disk is full — those times (at most one flush
 * interval's) are lost: say so on stderr, and let the stop go on to release the serving lock.
 */
function closeReporting(kg: Keygate): boolean {
  try {
    kg.close();
    return true;
  } catch (error) {
    reportToStderr(
      new Error("stopping: the last-used times of the last few seconds could not be written", {
        cause: error,
      }),
    );
    return false;
  }
}

/** How the start-up line names the host: `localhost` for every interface, IPv6 in brackets. */
function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

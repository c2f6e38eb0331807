/**
 * Bun's server closes a connection on which nothing has been sent or received for its idle
 * timeout (`idle_timeout_seconds`, 30 by default) — a connection whose request is still waiting
 * for its answer included. A gateway request waits on its upstream for up to `timeout_seconds`
 * for the head, and as long again for a body read whole to be recorded: with a timeout of 30 s
 * or more, the client's connection would be dropped without an answer (no 504, no envelope)
 * while Keygate was still waiting, and a slow answer that did come would reach no one.
 *
 * So while the gateway waits, the connection's idle timeout is lifted — the gateway's own
 * timers bound that wait — and it is put back once the answer is ready to go out: a streamed
 * body that then stays silent that long is cut, and the idle keep-alive connection after it is
 * closed, as on every other route. Deno's server has no such timeout and no such method.
 * Serving the gateway from an app of one's own (src/plugin.ts), give `idle_timeout_seconds` the
 * value that app's server was started with: it is the one put back.
 */

/** What Bun's server offers to change one request's idle timeout (`0`: none). */
export interface ConnectionTimeouts {
  timeout(request: Request, seconds: number): void;
}

/** Runs `wait` with the idle timeout of `request`'s connection lifted, then set to `idleSeconds`. */
export async function withIdleTimeoutLifted<T>(
  request: Request,
  server: Partial<ConnectionTimeouts> | null | undefined,
  idleSeconds: number,
  wait: () => Promise<T>,
): Promise<T> {
  if (typeof server?.timeout !== "function") return wait();
  server.timeout(request, 0);
  try {
    return await wait();
  } finally {
    server.timeout(request, idleSeconds);
  }
}

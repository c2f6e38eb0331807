/**
 * Serving the Elysia app with the runtime's HTTP server: Bun's through `app.listen`, Deno's
 * through `Deno.serve(app.fetch)` (which also records each request's peer address, since
 * Elysia does not know Deno's server).
 */
import type { AnyElysia } from "elysia";
import { ConfigError } from "../config/config.ts";
import { rememberPeer } from "../http/peer-address.ts";

/** A listening server. */
export interface Listening {
  port: number;
  /** Stops accepting connections; resolves once the requests in flight have been answered. */
  stop(): Promise<void>;
}

interface DenoServe {
  serve(
    options: { port: number; onListen?: () => void },
    handler: (
      request: Request,
      info: { remoteAddr: { hostname: string } },
    ) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/** Whether `error` is a runtime's refusal of a port that is taken (both set this code). */
const inUse = (error: unknown) => (error as { code?: string })?.code === "EADDRINUSE";

/**
 * Starts serving `app` on `port` (0: any free port). A port another process holds stops the
 * start with a {@link ConfigError} naming it, on both runtimes.
 */
export function listen(app: AnyElysia, port: number): Listening {
  try {
    return serveOn(app, port);
  } catch (error) {
    if (!inUse(error)) throw error;
    throw new ConfigError(
      `KEYGATE_PORT ${port} is in use by another process: stop it or choose another port`,
    );
  }
}

function serveOn(app: AnyElysia, port: number): Listening {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) {
    // Elysia shares ports by default (SO_REUSEPORT): a second Keygate started on a busy port
    // would silently take half its connections, even over another database. A busy port is
    // an error instead.
    app.listen({ port, reusePort: false });
    return {
      port: app.server?.port ?? port,
      stop: async () => {
        await app.stop();
      },
    };
  }
  const server = deno.serve({ port, onListen: () => {} }, (request, info) => {
    rememberPeer(request, info.remoteAddr.hostname);
    return app.fetch(request);
  });
  return { port: server.addr.port, stop: () => server.shutdown() };
}

/**
 * Serving the Elysia app with the runtime's HTTP server: Bun's through `app.listen`, Deno's
 * through `Deno.serve(app.fetch)` (which also records each request's peer address, since
 * Elysia does not know Deno's server).
 */
import type { AnyElysia } from "elysia";
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

/** Starts serving `app` on `port` (0: any free port). */
export function listen(app: AnyElysia, port: number): Listening {
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) {
    app.listen(port);
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

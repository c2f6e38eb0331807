/**
 * Serving the Elysia app with the runtime's HTTP server: Bun's through `app.listen`, Deno's
 * through `Deno.serve(app.fetch)` (which also records each request's peer address, since
 * Elysia does not know Deno's server). Plain HTTP, or HTTPS when the configuration names a
 * certificate and its key; every interface, or the one address `KEYGATE_HOST` names.
 */
import { readFileSync } from "node:fs";
import type { AnyElysia } from "elysia";
import type { KeygateConfig, TlsFiles } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { rememberPeer } from "../http/peer-address.ts";

/** A listening server. */
export interface Listening {
  port: number;
  /** `https` when serving with TLS. */
  scheme: "http" | "https";
  /** Stops accepting connections; resolves once the requests in flight have been answered. */
  stop(): Promise<void>;
}

/** A certificate chain and its private key, PEM. */
interface TlsPem {
  cert: string;
  key: string;
}

interface DenoServe {
  serve(
    options: { port: number; hostname: string; cert?: string; key?: string; onListen?: () => void },
    handler: (
      request: Request,
      info: { remoteAddr: { hostname: string } },
    ) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

/** Whether `error` is a runtime's refusal of a port that is taken (both set this code). */
const inUse = (error: unknown) => (error as { code?: string })?.code === "EADDRINUSE";

/** Whether `error` says the address itself cannot be listened on (not this machine's, unknown). */
const badAddress = (error: unknown) => {
  const { code, name } = (error as { code?: string; name?: string }) ?? {};
  return (
    code === "EADDRNOTAVAIL" ||
    code === "ENOTFOUND" ||
    code === "EAI_NONAME" ||
    name === "AddrNotAvailable"
  );
};

/** Reads one PEM file, naming its setting when it cannot. */
function readPem(path: string, setting: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`${setting} ${path}: cannot read the file (${(error as Error).message})`);
  }
}

/** The certificate chain and key the configuration names, read (at start, once). */
export function readTls(files: TlsFiles): TlsPem {
  return {
    cert: readPem(files.certPath, files.certSetting),
    key: readPem(files.keyPath, files.keySetting),
  };
}

/**
 * Starts serving `app` on the configured host and port (0: any free port), with TLS when the
 * configuration names the files. A port another process holds, an address that is not this
 * machine's, and a certificate or key the TLS library refuses each stop the start with a
 * {@link ConfigError} naming the setting.
 */
export function listen(
  app: AnyElysia,
  config: Pick<KeygateConfig, "port" | "host" | "tls" | "idleTimeoutSeconds">,
): Listening {
  const { port, host, tls: files } = config;
  const tls = files && readTls(files);
  try {
    return serveOn(app, { port, hostname: host, idleTimeout: config.idleTimeoutSeconds }, tls);
  } catch (error) {
    if (inUse(error))
      throw new ConfigError(
        `KEYGATE_PORT ${port} is in use by another process: stop it or choose another port`,
      );
    if (badAddress(error))
      throw new ConfigError(
        `KEYGATE_HOST ${host}: cannot listen on this address (${(error as Error).message})`,
      );
    if (files)
      throw new ConfigError(
        `${files.certSetting} / ${files.keySetting}: not a PEM certificate chain and its private key (${(error as Error).message})`,
      );
    throw error;
  }
}

/** Where to listen, and (Bun only) how long a silent connection is kept, in seconds. */
interface ListenOn {
  port: number;
  hostname: string;
  idleTimeout: number;
}

function serveOn(app: AnyElysia, on: ListenOn, tls?: TlsPem): Listening {
  const { port, hostname } = on;
  const scheme = tls ? "https" : "http";
  const deno = (globalThis as { Deno?: DenoServe }).Deno;
  if (!deno) {
    // Elysia shares ports by default (SO_REUSEPORT): a second Keygate started on a busy port
    // would silently take half its connections, even over another database. A busy port is
    // an error instead. And Elysia asks Bun for development mode unless NODE_ENV=production:
    // an error escaping the app would then be answered with its stack trace. Never here.
    // Bun refuses a body over its own cap (128 MiB) with a bare 413 — no envelope, no request
    // id — before Keygate sees it; Keygate's limit (`gateway.max_body_bytes`, 1 MiB by
    // default) answers every oversized body itself, reading no more than the limit.
    app.listen({
      ...on,
      reusePort: false,
      development: false,
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      ...(tls ? { tls } : {}),
    });
    return {
      port: app.server?.port ?? port,
      scheme,
      stop: async () => {
        await app.stop();
      },
    };
  }
  const server = deno.serve({ port, hostname, ...tls, onListen: () => {} }, (request, info) => {
    rememberPeer(request, info.remoteAddr.hostname);
    return app.fetch(request);
  });
  return { port: server.addr.port, scheme, stop: () => server.shutdown() };
}

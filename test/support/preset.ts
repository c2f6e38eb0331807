/**
 * A preset, black-box: the real server started as the README starts it with
 * `KEYGATE_CONFIG=presets/<name>.json`, in front of a stub upstream that counts its calls, plus
 * the CLI on the same database for what a dashboard would do.
 */
import { join } from "node:path";
import { type Reply, readReply } from "./http.ts";
import { type RunningServer, startServer } from "./server.ts";
import { keygate, ROOT } from "./spawn.ts";
import { type StubUpstream, startUpstream } from "./upstream.ts";

/** A running preset. */
export interface RunningPreset {
  server: RunningServer;
  upstream: StubUpstream;
  /** The platform keys `serve` printed on its first start. */
  live: string;
  test: string;
  /** One HTTP request to the server. */
  call(
    method: string,
    path: string,
    options?: { headers?: Record<string, string>; body?: unknown },
  ): Promise<Reply>;
  /** `keygate <args> --json` on the same database and config, parsed. */
  cli(...args: string[]): any;
  stop(): Promise<void>;
}

/** Starts `presets/<name>.json` with its database under `dir`. */
export async function startPreset(name: string, dir: string): Promise<RunningPreset> {
  const upstream = startUpstream();
  const env = {
    KEYGATE_DB: join(dir, name, "keygate.sqlite"),
    KEYGATE_CONFIG: join(ROOT, "presets", `${name}.json`),
  };
  const server = await startServer({ ...env, KEYGATE_UPSTREAM: upstream.url });
  const printed = (environment: string) =>
    new RegExp(`${environment}: ([a-z]+_${environment}_\\S+)`).exec(
      server.startupOutput,
    )?.[1] as string;
  return {
    server,
    upstream,
    live: printed("live"),
    test: printed("test"),
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      let body: string | undefined;
      if (options.body !== undefined) {
        headers["content-type"] ??= "application/json";
        body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      }
      return readReply(await fetch(`${server.url}${path}`, { method, headers, body }));
    },
    cli(...args) {
      const result = keygate([...args, "--json"], env);
      if (result.code !== 0) throw new Error(`keygate ${args.join(" ")}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
    async stop() {
      await server.stop();
      upstream.stop();
    },
  };
}

/** `Authorization: Basic base64(public:secret)`. */
export function basic(publicKey: string, secret: string): string {
  return `Basic ${Buffer.from(`${publicKey}:${secret}`).toString("base64")}`;
}

/**
 * Waits, if need be, until at least `seconds` remain before the next whole-minute boundary:
 * a burst counted against a per-minute fixed window must not straddle two windows.
 */
export async function awayFromMinuteBoundary(seconds = 5): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await Bun.sleep(left + 50);
}

/**
 * Asks again, every 50 ms for up to 5 s, until `reached(reply)`: a change made by the CLI
 * reaches the server's key index at its next sync (every 100 ms), later on a busy machine.
 * Returns the last reply, for the test to assert on.
 */
export async function untilServerSees<R>(ask: () => Promise<R>, reached: (reply: R) => boolean) {
  let reply = await ask();
  for (let waited = 0; !reached(reply) && waited < 5_000; waited += 50) {
    await Bun.sleep(50);
    reply = await ask();
  }
  return reply;
}

/**
 * Load from a second process: wrk (Debian package `wrk`), and the servers it is aimed at.
 * Each server is a child process; wrk runs in another; the figures compare runs made here,
 * in the same invocation, so machine differences cancel out in the ratios.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

// With taskset (util-linux) and two or more cores, the server and wrk run on separate cores,
// so neither steals the other's CPU and runs repeat within a few per cent.
const CAN_PIN = Bun.which("taskset") !== null && navigator.hardwareConcurrency >= 2;
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const pin = (core: number) => (CAN_PIN ? ["taskset", "-c", String(core)] : []);

/** A server child process and its URL. */
export interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Spawns `command` with `env` and waits for it to print "listening on <url>". Its output goes
 * to a file, not a pipe: draining a pipe of access logs would cost this process CPU that the
 * server under test competes for.
 */
export async function spawnServer(
  command: string[],
  env: Record<string, string>,
): Promise<BenchServer> {
  return spawnPinned(command, env, /listening on (http:\/\/\S+)/);
}

/** Spawns `command` on the server core and waits for its output to match `ready` (group 1: the URL). */
export async function spawnPinned(
  command: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<BenchServer> {
  const logPath = join(tmpdir(), `keygate-bench-${process.pid}-${Date.now()}.log`);
  const child = Bun.spawn([...pin(SERVER_CORE), ...command], {
    cwd: ROOT,
    env: { ...process.env, KEYGATE_CONFIG: "", ...env },
    stdout: Bun.file(logPath),
    stderr: "inherit",
  });
  const deadline = Date.now() + 120_000;
  let match: RegExpExecArray | null = null;
  while (!match) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${command.join(" ")} did not start`);
    await Bun.sleep(20);
    match = ready.exec(existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  }
  const url = match[1] as string;
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
      rmSync(logPath, { force: true });
    },
  };
}

/** What wrk sends besides a plain GET. */
export interface WrkOptions {
  headers?: Record<string, string>;
  seconds?: number;
  /** A POST body (JSON). */
  body?: string;
  /** Give every request its own `Idempotency-Key` (a counter per wrk run). */
  uniqueIdempotencyKeys?: boolean;
  /** Open connections (default 64; 1 measures the latency of one request at a time). */
  connections?: number;
}

/** What one wrk run measured. */
export interface WrkResult {
  requestsPerSecond: number;
  /** Median latency (wrk's 50th percentile), in milliseconds. */
  medianLatencyMs: number;
}

const LATENCY_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** The wrk Lua script for POSTs, written once per run. */
function postScript(options: WrkOptions): string {
  const path = join(tmpdir(), `keygate-bench-${process.pid}-${Date.now()}.lua`);
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(options.body ?? "")}`,
    'wrk.headers["Content-Type"] = "application/json"',
  ];
  if (options.uniqueIdempotencyKeys) {
    lines.push(
      "local counter = 0",
      `local run = "${Date.now().toString(36)}"`,
      "request = function()",
      "  counter = counter + 1",
      '  wrk.headers["Idempotency-Key"] = "bench-" .. run .. "-" .. counter',
      "  return wrk.format()",
      "end",
    );
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** Runs wrk against `url` and returns requests per second. */
export function wrk(url: string, options: WrkOptions = {}): number {
  return runWrk(url, options).requestsPerSecond;
}

/** Runs wrk against `url`: throughput and mean latency. */
export function runWrk(url: string, options: WrkOptions = {}): WrkResult {
  const seconds = options.seconds ?? Number(process.env.BENCH_SECONDS ?? 8);
  const connections = options.connections ?? 64;
  const args = [...pin(LOAD_CORE), "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency"];
  for (const [name, value] of Object.entries(options.headers ?? {}))
    args.push("-H", `${name}: ${value}`);
  const script = options.body !== undefined ? postScript(options) : undefined;
  if (script) args.push("-s", script);
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync([...args, url]);
  } catch {
    throw new Error("wrk is not installed: apt-get install wrk");
  } finally {
    if (script) rmSync(script, { force: true });
  }
  const text = String(result.stdout);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!match) throw new Error(`wrk gave no figure: ${text}${String(result.stderr)}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} error responses from ${url}`);
  const latency = /^\s+50%\s+([\d.]+)(us|ms|s)\b/m.exec(text);
  return {
    requestsPerSecond: Number(match[1]),
    medianLatencyMs: latency
      ? Number(latency[1]) * (LATENCY_UNITS[latency[2] as string] ?? 1)
      : Number.NaN,
  };
}

/** Commands that start the two kinds of server the benchmarks load. */
export const SERVE = ["bun", "src/cli/main.ts", "serve"];
/** The middle value of alternating rounds (of an even count, the mean of the middle two). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

/** The bare Elysia baseline. */
export const BARE = ["bun", "bench/bare-server.ts"];

/**
 * A `before` for {@link measureServed}: fetches `path` once and writes its JSON body and its
 * headers (but the ones the server computes itself) to `file`, for the bare server's
 * `GET /shaped` (env `SHAPE`).
 */
export function captureShape(file: string, path: string, headers: Record<string, string>) {
  return async (url: string) => {
    const response = await fetch(`${url}${path}`, { headers });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    const kept = [...response.headers].filter(
      ([name]) => !["content-type", "content-length", "date"].includes(name),
    );
    writeFileSync(
      file,
      JSON.stringify({ body: await response.json(), headers: Object.fromEntries(kept) }),
    );
  };
}

/**
 * Starts a server, warms it up for two seconds, measures `path` with wrk and stops it.
 * `before` runs once the server is up (e.g. to record the result a replay run repeats).
 */
export async function measureServed(
  command: string[],
  env: Record<string, string>,
  path: string,
  options: WrkOptions = {},
  before?: (url: string) => Promise<void>,
): Promise<number> {
  const server = await spawnServer(command, { KEYGATE_PORT: "0", PORT: "0", ...env });
  try {
    await before?.(server.url);
    wrk(`${server.url}${path}`, { ...options, seconds: 2 });
    return wrk(`${server.url}${path}`, options);
  } finally {
    await server.stop();
  }
}

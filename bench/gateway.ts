/**
 * Gateway scenario (issue 6): a trivial upstream (the bare Elysia GET) called directly,
 * through Keygate's gateway (authenticated, rate-limited, proxied), and through nginx
 * `proxy_pass` (keep-alive to the upstream) — same run, every server on the server core.
 * Throughput with 64 connections; added latency with one connection, the targets taking turns
 * for three rounds (medians compared).
 */
import { join } from "node:path";
import { nginxBinary, writeNginxConf } from "../test/support/nginx.ts";
import { freePort } from "../test/support/proxy-process.ts";
import { BENCH_DIR, benchConfig, databaseWithKeys, UNREACHED_LIMIT } from "./fixtures.ts";
import {
  BARE,
  type BenchServer,
  median,
  runWrk,
  SERVE,
  spawnPinned,
  spawnServer,
  type WrkResult,
} from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

/** nginx proxying everything to `upstream`, as a plain reverse proxy would be set up. */
async function startNginx(upstream: string): Promise<BenchServer> {
  const dir = join(BENCH_DIR, "nginx");
  const port = freePort();
  const conf = writeNginxConf(
    dir,
    `  upstream app { server ${new URL(upstream).host.replace("localhost", "127.0.0.1")}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
  const url = `http://127.0.0.1:${port}`;
  const server = await spawnPinned(
    [
      "sh",
      "-c",
      `echo "listening on ${url}"; exec ${nginxBinary()} -p ${dir} -e ${dir}/logs/error.log -c ${conf}`,
    ],
    {},
    /listening on (http:\/\/\S+)/,
  );
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${url}/bare`);
      break;
    } catch {
      await Bun.sleep(25);
    }
  }
  return server;
}

/** Rounds of the one-connection latency runs; the targets take turns in each. */
const LATENCY_ROUNDS = 3;

/** One target of the comparison: where to send requests, and with which headers. */
interface Target {
  url: string;
  headers?: Record<string, string>;
}

/** Warms `target` up, then measures its throughput with 64 connections. */
function throughput(target: Target): WrkResult {
  runWrk(target.url, { headers: target.headers ?? {}, seconds: 2 });
  return runWrk(target.url, { headers: target.headers ?? {} });
}

/**
 * Median one-connection latency of each target, the targets taking turns for
 * {@link LATENCY_ROUNDS} rounds: a single run swung by hundreds of µs on this VM (nginx once
 * added 340 µs where it adds 55–65), so one run per target compared noise with noise.
 */
function latencies(targets: Target[]): number[] {
  const runs: number[][] = targets.map(() => []);
  for (let round = 0; round < LATENCY_ROUNDS; round++)
    for (const [i, target] of targets.entries()) {
      const headers = target.headers ?? {};
      runs[i]?.push(runWrk(target.url, { headers, connections: 1, seconds: 3 }).medianLatencyMs);
    }
  return runs.map(median);
}

/** The gateway scenario. */
export const gatewayScenario: Scenario = {
  name: "gateway",
  async run() {
    const { dbPath, liveKey } = await databaseWithKeys("gateway", 1_000);
    const config = benchConfig("gateway", "gateway.json", {
      rate_limits: { default: { limit: UNREACHED_LIMIT, window_seconds: 1 } },
      gateway: { routes: [{ method: "GET", path: "/bare" }] },
    });
    // Every server up at once (idle while another is measured), so that the latency runs can
    // take turns.
    const servers: BenchServer[] = [];
    let load: WrkResult[];
    let latency: number[];
    try {
      const upstream = await spawnServer(BARE, { PORT: "0" });
      servers.push(upstream);
      const keygate = await spawnServer(SERVE, {
        KEYGATE_PORT: "0",
        KEYGATE_DB: dbPath,
        KEYGATE_CONFIG: config,
        KEYGATE_UPSTREAM: upstream.url,
        KEYGATE_ACCESS_LOG: "off",
      });
      servers.push(keygate);
      const floor = await spawnServer(["bun", "bench/bare-proxy.ts"], {
        PORT: "0",
        UPSTREAM: upstream.url,
      });
      servers.push(floor);
      const proxy = await startNginx(upstream.url);
      servers.push(proxy);
      const targets: Target[] = [
        { url: `${upstream.url}/bare` },
        { url: `${keygate.url}/bare`, headers: { authorization: `Bearer ${liveKey}` } },
        { url: `${floor.url}/bare` },
        { url: `${proxy.url}/bare` },
      ];
      load = targets.map(throughput);
      latency = latencies(targets);
    } finally {
      for (const server of servers.reverse()) await server.stop();
    }
    const [direct, gateway, bareProxy, nginx] = load as [
      WrkResult,
      WrkResult,
      WrkResult,
      WrkResult,
    ];
    const [directMs, gatewayMs, bareProxyMs, nginxMs] = latency as [number, number, number, number];
    // A non-positive difference means the noise exceeded the signal: no figure, not a pass.
    const added = (viaMs: number) => (viaMs > directMs ? viaMs - directMs : Number.NaN);
    return [
      { name: "upstream direct", value: direct.requestsPerSecond, unit: "req/s" },
      {
        name: "through the gateway (auth + limit + proxy)",
        value: gateway.requestsPerSecond,
        unit: "req/s",
      },
      {
        name: "  gateway / direct",
        value: (gateway.requestsPerSecond / direct.requestsPerSecond) * 100,
        unit: "%",
        target: { value: 60, better: "higher" },
      },
      { name: "through nginx proxy_pass", value: nginx.requestsPerSecond, unit: "req/s" },
      {
        name: "through a bare Elysia fetch proxy (floor)",
        value: bareProxy.requestsPerSecond,
        unit: "req/s",
      },
      {
        name: "  gateway / bare proxy",
        value: (gateway.requestsPerSecond / bareProxy.requestsPerSecond) * 100,
        unit: "%",
      },
      {
        name: `latency direct (1 connection, median of ${LATENCY_ROUNDS} rounds)`,
        value: directMs * 1000,
        unit: "µs",
      },
      { name: "  added by the gateway", value: added(gatewayMs) * 1000, unit: "µs" },
      { name: "  added by nginx", value: added(nginxMs) * 1000, unit: "µs" },
      { name: "  added by the bare Elysia proxy", value: added(bareProxyMs) * 1000, unit: "µs" },
      {
        name: "  gateway's added latency / nginx's",
        value: added(gatewayMs) / added(nginxMs),
        unit: "×",
        target: { value: 1.5, better: "lower" },
      },
    ] satisfies Figure[];
  },
};

/**
 * Gateway scenario (issue 6): a trivial upstream (the bare Elysia GET) called directly,
 * through Keygate's gateway (authenticated, rate-limited, proxied), and through nginx
 * `proxy_pass` (keep-alive to the upstream) — same run, every server on the server core.
 * Throughput with 64 connections; added latency (medians) with one connection at a time.
 */
import { join } from "node:path";
import { freePort, nginxBinary, writeNginxConf } from "../test/support/nginx.ts";
import { BENCH_DIR, benchConfig, databaseWithKeys, UNREACHED_LIMIT } from "./fixtures.ts";
import {
  BARE,
  type BenchServer,
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

/** Warms up, then measures throughput (64 connections) and latency (1 connection). */
function measure(url: string, headers: Record<string, string> = {}) {
  runWrk(url, { headers, seconds: 2 });
  const load = runWrk(url, { headers });
  const single = runWrk(url, { headers, connections: 1, seconds: 4 });
  return { load, single };
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
    const upstream = await spawnServer(BARE, { PORT: "0" });
    let direct: { load: WrkResult; single: WrkResult };
    let gateway: { load: WrkResult; single: WrkResult };
    let nginx: { load: WrkResult; single: WrkResult };
    let bareProxy: { load: WrkResult; single: WrkResult };
    try {
      direct = measure(`${upstream.url}/bare`);
      const keygate = await spawnServer(SERVE, {
        KEYGATE_PORT: "0",
        KEYGATE_DB: dbPath,
        KEYGATE_CONFIG: config,
        KEYGATE_UPSTREAM: upstream.url,
        KEYGATE_ACCESS_LOG: "off",
      });
      try {
        gateway = measure(`${keygate.url}/bare`, { authorization: `Bearer ${liveKey}` });
      } finally {
        await keygate.stop();
      }
      const floor = await spawnServer(["bun", "bench/bare-proxy.ts"], {
        PORT: "0",
        UPSTREAM: upstream.url,
      });
      try {
        bareProxy = measure(`${floor.url}/bare`);
      } finally {
        await floor.stop();
      }
      const proxy = await startNginx(upstream.url);
      try {
        nginx = measure(`${proxy.url}/bare`);
      } finally {
        await proxy.stop();
      }
      // The direct latency again: one-connection figures drift on a shared VM, and the lower
      // of the two is the fairer floor to subtract.
      const again = runWrk(`${upstream.url}/bare`, { connections: 1, seconds: 4 });
      if (again.medianLatencyMs < direct.single.medianLatencyMs) direct.single = again;
    } finally {
      await upstream.stop();
    }
    // A non-positive difference means the noise exceeded the signal: no figure, not a pass.
    const added = (via: { single: WrkResult }) => {
      const extra = via.single.medianLatencyMs - direct.single.medianLatencyMs;
      return extra > 0 ? extra : Number.NaN;
    };
    return [
      { name: "upstream direct", value: direct.load.requestsPerSecond, unit: "req/s" },
      {
        name: "through the gateway (auth + limit + proxy)",
        value: gateway.load.requestsPerSecond,
        unit: "req/s",
      },
      {
        name: "  gateway / direct",
        value: (gateway.load.requestsPerSecond / direct.load.requestsPerSecond) * 100,
        unit: "%",
        target: { value: 60, better: "higher" },
      },
      { name: "through nginx proxy_pass", value: nginx.load.requestsPerSecond, unit: "req/s" },
      {
        name: "through a bare Elysia fetch proxy (floor)",
        value: bareProxy.load.requestsPerSecond,
        unit: "req/s",
      },
      {
        name: "  gateway / bare proxy",
        value: (gateway.load.requestsPerSecond / bareProxy.load.requestsPerSecond) * 100,
        unit: "%",
      },
      {
        name: "latency direct (1 connection)",
        value: direct.single.medianLatencyMs * 1000,
        unit: "µs",
      },
      { name: "  added by the gateway", value: added(gateway) * 1000, unit: "µs" },
      { name: "  added by nginx", value: added(nginx) * 1000, unit: "µs" },
      { name: "  added by the bare Elysia proxy", value: added(bareProxy) * 1000, unit: "µs" },
      {
        name: "  gateway's added latency / nginx's",
        value: added(gateway) / added(nginx),
        unit: "×",
        target: { value: 1.5, better: "lower" },
      },
    ] satisfies Figure[];
  },
};

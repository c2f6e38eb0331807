/**
 * Rate-limit scenario: what the limiter costs authenticated `GET /v1/me`, limiter on vs off,
 * in the same run. In process (`app.handle`, alternating rounds, best of three each), because a
 * 3 % difference is below the run-to-run noise of a served measurement on a 2-core machine;
 * then served with wrk for reference.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openKeygate } from "../src/app/keygate.ts";
import { loadConfig } from "../src/config/config.ts";
import { createApp } from "../src/http/app.ts";
import { BENCH_DIR, databaseWithKeys } from "./fixtures.ts";
import { measureServed, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const REQUESTS = 40_000;

async function microsPerRequest(
  dbPath: string,
  liveKey: string,
  enabled: boolean,
): Promise<number> {
  const base = loadConfig({ KEYGATE_DB: dbPath });
  // A limit no run reaches: the limiter does all its work and never refuses.
  const rateLimits = {
    ...base.rateLimits,
    enabled,
    default: { ...base.rateLimits.default, limit: 1_000_000_000 },
  };
  const kg = openKeygate({ ...base, rateLimits });
  const app = createApp(kg, { accessLog: false });
  const headers = { authorization: `Bearer ${liveKey}` };
  const once = () => app.handle(new Request("http://localhost/v1/me", { headers }));
  for (let i = 0; i < 5_000; i++) await once();
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) await once();
  const micros = ((performance.now() - started) * 1000) / REQUESTS;
  kg.close();
  return micros;
}

/** The rate-limit scenario. */
export const rateLimitScenario: Scenario = {
  name: "ratelimit",
  async run() {
    const { dbPath, liveKey } = await databaseWithKeys("ratelimit", 1_000);
    const on: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < 3; round++) {
      on.push(await microsPerRequest(dbPath, liveKey, true));
      off.push(await microsPerRequest(dbPath, liveKey, false));
    }
    const bestOn = Math.min(...on);
    const bestOff = Math.min(...off);

    const offConfig = join(BENCH_DIR, "ratelimit", "off.json");
    writeFileSync(offConfig, JSON.stringify({ rate_limits: { enabled: false } }));
    const headers = { authorization: `Bearer ${liveKey}` };
    const served = (env: Record<string, string>) =>
      measureServed(SERVE, { KEYGATE_DB: dbPath, ...env }, "/v1/me", { headers });
    // The default limit (100/s) would refuse most of wrk's requests: raise it for this run.
    const onConfig = join(BENCH_DIR, "ratelimit", "on.json");
    writeFileSync(
      onConfig,
      JSON.stringify({ rate_limits: { default: { limit: 1_000_000_000, window_seconds: 1 } } }),
    );
    const servedOn = await served({ KEYGATE_CONFIG: onConfig });
    const servedOff = await served({ KEYGATE_CONFIG: offConfig });

    return [
      { name: "in process: /v1/me, limiter off (best of 3)", value: bestOff, unit: "µs/req" },
      { name: "in process: /v1/me, limiter on (best of 3)", value: bestOn, unit: "µs/req" },
      {
        name: "  limiter cost (throughput lost)",
        value: (1 - bestOff / bestOn) * 100,
        unit: "%",
        target: { value: 3, better: "lower" },
      },
      { name: "served: /v1/me, limiter off", value: servedOff, unit: "req/s" },
      { name: "served: /v1/me, limiter on", value: servedOn, unit: "req/s" },
    ] satisfies Figure[];
  },
};

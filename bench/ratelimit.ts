/**
 * Rate-limit scenario: what the limiter costs authenticated `GET /v1/me`, limiter on vs off,
 * in the same run. Served (the target: throughput as clients see it, wrk from a second
 * process, the two servers taking turns for five rounds, medians compared, since one run
 * each swings by more than 3 %), and in process (`app.handle`, both apps in one process
 * taking turns for 15 rounds): there a request costs no network I/O, so the limiter's share
 * of its time is several times larger.
 *
 * The limiter's answer is five response headers, and Bun's server pays for each header it
 * writes. So the served rounds also alternate a bare Elysia route answering a copy of
 * `/v1/me`'s response with the limiter off and one answering it with the limiter on (the same
 * body; its two headers, or its seven): what those five headers alone cost, with no limiter.
 */

import { join } from "node:path";
import { openKeygate } from "../src/app/keygate.ts";
import { loadConfig } from "../src/config/config.ts";
import { createApp } from "../src/http/app.ts";
import { DEFAULT_POLICY } from "../src/ratelimit/policy.ts";
import {
  BENCH_DIR,
  benchConfig,
  databaseWithKeys,
  UNREACHED_LIMIT,
  unlimitedConfig,
} from "./fixtures.ts";
import { BARE, captureShape, measureServed, median, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const ROUNDS = 15;
const REQUESTS_PER_ROUND = 10_000;
const SERVED_ROUNDS = 5;

/** An in-process app over `dbPath` with the limiter on or off (a limit no run reaches). */
function appWith(dbPath: string, enabled: boolean) {
  const base = loadConfig({ KEYGATE_DB: dbPath });
  const rateLimits = {
    ...base.rateLimits,
    enabled,
    default: { ...DEFAULT_POLICY, limit: UNREACHED_LIMIT },
  };
  const kg = openKeygate({ ...base, rateLimits });
  return { kg, app: createApp(kg, { accessLog: false }) };
}

/** The rate-limit scenario. */
export const rateLimitScenario: Scenario = {
  name: "ratelimit",
  async run() {
    const { dbPath, liveKey } = await databaseWithKeys("ratelimit", 1_000);
    // Both apps live in one process and take turns, round after round; the median of each
    // is compared. (Separate processes or one app after the other let JIT warm-up swing the
    // result by more than the effect measured.)
    const on = appWith(dbPath, true);
    const off = appWith(dbPath, false);
    const headers = { authorization: `Bearer ${liveKey}` };
    const microsPerRequest = async (app: typeof on.app, requests: number) => {
      const started = performance.now();
      for (let i = 0; i < requests; i++)
        await app.handle(new Request("http://localhost/v1/me", { headers }));
      return ((performance.now() - started) * 1000) / requests;
    };
    for (let i = 0; i < 3; i++) {
      await microsPerRequest(on.app, 5_000);
      await microsPerRequest(off.app, 5_000);
    }
    const onRounds: number[] = [];
    const offRounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      onRounds.push(await microsPerRequest(on.app, REQUESTS_PER_ROUND));
      offRounds.push(await microsPerRequest(off.app, REQUESTS_PER_ROUND));
    }
    on.kg.close();
    off.kg.close();
    const medianOn = median(onRounds);
    const medianOff = median(offRounds);

    // Served, as clients see it: the two servers take turns, SERVED_ROUNDS each, and the
    // medians are compared (one run each swings by more than the effect measured).
    const served = (config: string, shape: string) =>
      measureServed(
        SERVE,
        { KEYGATE_DB: dbPath, KEYGATE_CONFIG: config },
        "/v1/me",
        { headers, seconds: 4 },
        captureShape(shape, "/v1/me", headers),
      );
    const bareShaped = (shape: string) =>
      measureServed(BARE, { SHAPE: shape }, "/shaped", { seconds: 4 });
    // The default limit (100/s) would refuse most of wrk's requests: raise it for this run.
    const onConfig = unlimitedConfig("ratelimit");
    const offConfig = benchConfig("ratelimit", "off.json", { rate_limits: { enabled: false } });
    const onShape = join(BENCH_DIR, "ratelimit", "shape-on.json");
    const offShape = join(BENCH_DIR, "ratelimit", "shape-off.json");
    const servedOn: number[] = [];
    const servedOff: number[] = [];
    const bareOn: number[] = [];
    const bareOff: number[] = [];
    for (let round = 0; round < SERVED_ROUNDS; round++) {
      servedOff.push(await served(offConfig, offShape));
      servedOn.push(await served(onConfig, onShape));
      bareOff.push(await bareShaped(offShape));
      bareOn.push(await bareShaped(onShape));
    }

    return [
      { name: "in process: /v1/me, limiter off (median)", value: medianOff, unit: "µs/req" },
      { name: "in process: /v1/me, limiter on (median)", value: medianOn, unit: "µs/req" },
      {
        name: "  limiter cost in process (time per request)",
        value: (1 - medianOff / medianOn) * 100,
        unit: "%",
      },
      {
        name: `served: /v1/me, limiter off (median of ${SERVED_ROUNDS})`,
        value: median(servedOff),
        unit: "req/s",
      },
      {
        name: `served: /v1/me, limiter on (median of ${SERVED_ROUNDS})`,
        value: median(servedOn),
        unit: "req/s",
      },
      {
        name: "  limiter cost (throughput lost)",
        value: (1 - median(servedOn) / median(servedOff)) * 100,
        unit: "%",
        target: { value: 3, better: "lower" },
      },
      {
        name: `bare route, /v1/me's response with the limiter off / on (median of ${SERVED_ROUNDS})`,
        value: median(bareOff),
        unit: "req/s",
      },
      { name: "  (limiter on)", value: median(bareOn), unit: "req/s" },
      {
        name: "  the five headers alone (throughput lost, no limiter)",
        value: (1 - median(bareOn) / median(bareOff)) * 100,
        unit: "%",
      },
    ] satisfies Figure[];
  },
};

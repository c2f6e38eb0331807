/**
 * Auth scenario: authenticated `GET /v1/me` against a bare Elysia route, in the same run,
 * with wrk from a second process; then the same with BENCH_KEYS keys (default 1,000,000)
 * in the database, to show the hot path does not depend on how many keys exist (it and a
 * 1,000-key server take turns in pairs, and the median of the pairs' ratios is reported). A second
 * baseline, a bare route answering a copy of `/v1/me`'s body and headers, separates what the
 * response itself costs Bun's server from what Keygate's work costs.
 */
import { join } from "node:path";
import { BENCH_DIR, databaseWithKeys, unlimitedConfig } from "./fixtures.ts";
import { BARE, captureShape, measureServed, median, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const MANY = Number(process.env.BENCH_KEYS ?? 1_000_000);
const ROUNDS = 3;
/** Rounds of the many-key / 1,000-key comparison: an even number, so each goes first as often. */
const PAIRED_ROUNDS = 8;
/** Seconds of each run in that comparison: shorter runs, more pairs, the same time in all. */
const PAIRED_SECONDS = 4;

/** The auth scenario. */
export const authScenario: Scenario = {
  name: "auth",
  async run() {
    const few = await databaseWithKeys("auth-1k", 1_000);
    const many = await databaseWithKeys("auth-many", MANY);
    // The limiter stays on (it is part of the hot path) with a limit wrk never reaches.
    const config = unlimitedConfig("auth-1k");
    const shape = join(BENCH_DIR, "auth-1k", "me-shape.json");
    const headers = { authorization: `Bearer ${few.liveKey}` };
    // The three servers take turns for ROUNDS rounds and the medians are compared: one run of
    // any of them swings by more than the differences measured.
    const bareRuns: number[] = [];
    const shapedRuns: number[] = [];
    const meRuns: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRuns.push(await measureServed(BARE, {}, "/bare"));
      meRuns.push(
        await measureServed(
          SERVE,
          { KEYGATE_DB: few.dbPath, KEYGATE_CONFIG: config },
          "/v1/me",
          { headers },
          captureShape(shape, "/v1/me", headers),
        ),
      );
      shapedRuns.push(await measureServed(BARE, { SHAPE: shape }, "/shaped"));
    }
    // The many-key and the 1,000-key servers take turns too: a single pair of runs swung
    // between 75 % and 117 % on unchanged code. Which goes first alternates (A B B A …), so
    // that whatever favours the first or the second run of a pair falls on both alike. The
    // ratio is the median of each pair's own ratio: the two runs of a pair are seconds apart,
    // so the VM's slower drifts (which moved the ratio of the two medians from 93 % to 112 %
    // between runs of unchanged code) cancel within it.
    const manyRuns: number[] = [];
    const fewRuns: number[] = [];
    const runMany = async () =>
      manyRuns.push(
        await measureServed(SERVE, { KEYGATE_DB: many.dbPath, KEYGATE_CONFIG: config }, "/v1/me", {
          headers: { authorization: `Bearer ${many.liveKey}` },
          seconds: PAIRED_SECONDS,
        }),
      );
    const runFew = async () =>
      fewRuns.push(
        await measureServed(SERVE, { KEYGATE_DB: few.dbPath, KEYGATE_CONFIG: config }, "/v1/me", {
          headers,
          seconds: PAIRED_SECONDS,
        }),
      );
    for (let round = 0; round < PAIRED_ROUNDS; round++) {
      const [first, second] = round % 2 === 0 ? [runMany, runFew] : [runFew, runMany];
      await first();
      await second();
    }
    const meMany = median(manyRuns);
    const pairRatios = manyRuns.map((run, i) => run / (fewRuns[i] as number));
    const baseline = median(bareRuns);
    const shaped = median(shapedRuns);
    const me = median(meRuns);
    return [
      { name: `bare Elysia GET (median of ${ROUNDS})`, value: baseline, unit: "req/s" },
      {
        name: `bare Elysia GET answering /v1/me's body and headers (median of ${ROUNDS})`,
        value: shaped,
        unit: "req/s",
      },
      { name: `GET /v1/me, 1,000 keys (median of ${ROUNDS})`, value: me, unit: "req/s" },
      {
        name: "  ratio to bare",
        value: (me / baseline) * 100,
        unit: "%",
        target: { value: 90, better: "higher" },
      },
      {
        name: "  ratio to the bare route with /v1/me's response",
        value: (me / shaped) * 100,
        unit: "%",
      },
      {
        name: `GET /v1/me, ${MANY.toLocaleString("en-US")} keys (median of ${PAIRED_ROUNDS})`,
        value: meMany,
        unit: "req/s",
      },
      {
        name: `  ratio ${MANY.toLocaleString("en-US")} / 1,000 keys (median of ${PAIRED_ROUNDS} pairs' ratios)`,
        value: median(pairRatios) * 100,
        unit: "%",
        target: { value: 95, better: "higher" },
      },
    ] satisfies Figure[];
  },
};

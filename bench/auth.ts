/**
 * Auth scenario: authenticated `GET /v1/me` against a bare Elysia route, in the same run,
 * with wrk from a second process; then the same with BENCH_KEYS keys (default 1,000,000)
 * in the database, to show the hot path does not depend on how many keys exist.
 */
import { databaseWithKeys, unlimitedConfig } from "./fixtures.ts";
import { BARE, measureServed, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const MANY = Number(process.env.BENCH_KEYS ?? 1_000_000);

/** The auth scenario. */
export const authScenario: Scenario = {
  name: "auth",
  async run() {
    const few = await databaseWithKeys("auth-1k", 1_000);
    const many = await databaseWithKeys("auth-many", MANY);
    // The limiter stays on (it is part of the hot path) with a limit wrk never reaches.
    const config = unlimitedConfig("auth-1k");
    const bare = await measureServed(BARE, {}, "/bare");
    const me = await measureServed(
      SERVE,
      { KEYGATE_DB: few.dbPath, KEYGATE_CONFIG: config },
      "/v1/me",
      {
        headers: { authorization: `Bearer ${few.liveKey}` },
      },
    );
    const meMany = await measureServed(
      SERVE,
      { KEYGATE_DB: many.dbPath, KEYGATE_CONFIG: config },
      "/v1/me",
      { headers: { authorization: `Bearer ${many.liveKey}` } },
    );
    const bareAgain = await measureServed(BARE, {}, "/bare");
    const baseline = (bare + bareAgain) / 2;
    return [
      { name: "bare Elysia GET (mean of before and after)", value: baseline, unit: "req/s" },
      { name: "GET /v1/me, 1,000 keys", value: me, unit: "req/s" },
      {
        name: "  ratio to bare",
        value: (me / baseline) * 100,
        unit: "%",
        target: { value: 90, better: "higher" },
      },
      { name: `GET /v1/me, ${MANY.toLocaleString("en-US")} keys`, value: meMany, unit: "req/s" },
      {
        name: `  ratio ${MANY.toLocaleString("en-US")} / 1,000 keys`,
        value: (meMany / me) * 100,
        unit: "%",
        target: { value: 95, better: "higher" },
      },
    ] satisfies Figure[];
  },
};

/**
 * Deno scenario (issue 8): authenticated `GET /v1/me` served by the same sources on Deno
 * (`deno run -A src/cli/main.ts serve`: Deno.serve, node:sqlite) against Bun, same run,
 * same database and configuration.
 */
import { databaseWithKeys, unlimitedConfig } from "./fixtures.ts";
import { measureServed, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const DENO_SERVE = ["deno", "run", "-A", "src/cli/main.ts", "serve"];

/** The Deno scenario. */
export const denoScenario: Scenario = {
  name: "deno",
  async run() {
    const { dbPath, liveKey } = await databaseWithKeys("deno-1k", 1_000);
    const env = {
      KEYGATE_DB: dbPath,
      KEYGATE_CONFIG: unlimitedConfig("deno-1k"),
      KEYGATE_ACCESS_LOG: "off",
    };
    const options = { headers: { authorization: `Bearer ${liveKey}` } };
    const bun = await measureServed(SERVE, env, "/v1/me", options);
    const deno = await measureServed(DENO_SERVE, env, "/v1/me", options);
    const bunAgain = await measureServed(SERVE, env, "/v1/me", options);
    const onBun = (bun + bunAgain) / 2;
    return [
      { name: "GET /v1/me on Bun (mean of before and after)", value: onBun, unit: "req/s" },
      { name: "GET /v1/me on Deno", value: deno, unit: "req/s" },
      { name: "  Deno / Bun", value: (deno / onBun) * 100, unit: "%" },
    ] satisfies Figure[];
  },
};

/**
 * Idempotency scenario (issue 5): a first-time idempotent POST — the handler runs and its
 * sealed response is appended to the log before the answer goes out — and a replayed POST,
 * against a bare Elysia POST and GET in the same run.
 *
 * The POST is `/v1/keys/verify` (a real Keygate POST whose handler writes nothing itself),
 * so the durable write measured is the idempotency record alone. Every first-time request
 * carries its own Idempotency-Key; every replay request the same one.
 */
import { databaseWithKeys, unlimitedConfig } from "./fixtures.ts";
import { BARE, measureServed, SERVE } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const REPLAYED_KEY = "bench-replayed-0001";

/** The idempotency scenario. */
export const idempotencyScenario: Scenario = {
  name: "idempotency",
  async run() {
    const { dbPath, liveKey } = await databaseWithKeys("idempotency", 1_000);
    // The verified key's limit would refuse most of wrk's requests: raise it for this run.
    const env = { KEYGATE_DB: dbPath, KEYGATE_CONFIG: unlimitedConfig("idempotency") };
    const body = JSON.stringify({ key: liveKey });
    const headers = { authorization: `Bearer ${liveKey}` };

    const bareGet = await measureServed(BARE, {}, "/bare");
    const barePost = await measureServed(BARE, {}, "/bare", { body, uniqueIdempotencyKeys: true });
    // The same route without the header: what authentication and the handler cost alone.
    const plain = await measureServed(SERVE, env, "/v1/keys/verify", { headers, body });
    const firstTime = await measureServed(SERVE, env, "/v1/keys/verify", {
      headers,
      body,
      uniqueIdempotencyKeys: true,
    });
    const replayed = await measureServed(
      SERVE,
      env,
      "/v1/keys/verify",
      { headers: { ...headers, "idempotency-key": REPLAYED_KEY }, body },
      async (url) => {
        const first = await fetch(`${url}/v1/keys/verify`, {
          method: "POST",
          headers: {
            ...headers,
            "content-type": "application/json",
            "idempotency-key": REPLAYED_KEY,
          },
          body,
        });
        if (first.status !== 200) throw new Error(`recording the replayed result: ${first.status}`);
      },
    );
    return [
      { name: "bare Elysia POST (JSON body)", value: barePost, unit: "req/s" },
      { name: "bare Elysia GET", value: bareGet, unit: "req/s" },
      { name: "POST /v1/keys/verify, no Idempotency-Key", value: plain, unit: "req/s" },
      { name: "first-time idempotent POST (durable)", value: firstTime, unit: "req/s" },
      {
        name: "  ratio to bare POST",
        value: (firstTime / barePost) * 100,
        unit: "%",
        target: { value: 50, better: "higher" },
      },
      {
        name: "  ratio to the same POST without the header",
        value: (firstTime / plain) * 100,
        unit: "%",
      },
      { name: "replayed idempotent POST", value: replayed, unit: "req/s" },
      {
        name: "  ratio to the same POST without the header",
        value: (replayed / plain) * 100,
        unit: "%",
      },
      {
        name: "  ratio to bare GET",
        value: (replayed / bareGet) * 100,
        unit: "%",
        target: { value: 85, better: "higher" },
      },
    ] satisfies Figure[];
  },
};

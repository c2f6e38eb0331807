/**
 * A database opened with another results key than its results were sealed with — restored
 * without `keygate-results.key`, or `KEYGATE_RESULTS_KEY` changed — cannot replay them. Its
 * retries stay 500 (never run again), and the operator is told why: at start, and on each one.
 */
import { beforeEach, expect, test } from "bun:test";
import { startBackgroundWork } from "../../src/app/background-work.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { appOver, codeOf } from "../support/http.ts";
import { databaseFilePerTest, FakeClock, TEST_ACTOR } from "../support/keygate.ts";

const SEALED_WITH = "a".repeat(64);
const ANOTHER = "b".repeat(64);

const database = databaseFilePerTest();
let clock: FakeClock;

/** The test's database opened with `resultsKey`, as an app. */
const open = (resultsKey: string) =>
  appOver(database.open({ clock, env: { KEYGATE_RESULTS_KEY: resultsKey } }));

const request = {
  headers: { "idempotency-key": "create-billing-key-1" },
  body: { name: "billing", scopes: ["links:read"] },
};

/** A database with one recorded result: the creation of a key, sealed under SEALED_WITH. */
async function recorded(): Promise<{ live: string; secret: string }> {
  const first = open(SEALED_WITH);
  const init = initPlatform(first.kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const created = await first.call("POST", "/v1/api-keys", { key: init.keys.live, ...request });
  expect(created.status).toBe(200);
  return { live: init.keys.live, secret: created.body.secret };
}

beforeEach(() => {
  clock = new FakeClock();
});

test("another results key: the retry is 500, never run again, and the report says which key and until when", async () => {
  const { live } = await recorded();
  const other = open(ANOTHER);
  const keysBefore = other.kg.db.sql.prepare("SELECT id FROM api_keys").all().length;
  const retry = await other.call("POST", "/v1/api-keys", { key: live, ...request });
  expect(retry.status).toBe(500);
  expect(codeOf(retry)).toBe("api_error");
  expect(other.kg.db.sql.prepare("SELECT id FROM api_keys").all().length).toBe(keysBefore);
  const reported = String(other.internalErrors[0]);
  expect(reported).toContain("The results key (KEYGATE_RESULTS_KEY, or keygate-results.key");
  expect(reported).toContain("until the result expires at 2026-01-02T00:00:00.000Z");
});

test("at start the operator is told, with how many results and until when; with the right key, nothing is said and the retry replays", async () => {
  const { live, secret } = await recorded();
  const said: unknown[] = [];
  const other = open(ANOTHER);
  await startBackgroundWork(other.kg, (error) => said.push(error)).stop();
  expect(said.map(String)).toEqual([
    expect.stringContaining(
      "Up to 1 recorded result(s) are affected: their retries are answered 500 and never run again, until the last expires at 2026-01-02T00:00:00.000Z.",
    ),
  ]);

  said.length = 0;
  const right = open(SEALED_WITH);
  await startBackgroundWork(right.kg, (error) => said.push(error)).stop();
  expect(said).toEqual([]);
  const retry = await right.call("POST", "/v1/api-keys", { key: live, ...request });
  expect(retry.headers.get("idempotent-replayed")).toBe("true");
  expect(retry.body.secret).toBe(secret);
});

test("once the results have expired, nothing is left to warn about", async () => {
  await recorded();
  clock.advance(24 * 3600);
  expect(open(ANOTHER).kg.idempotency.unreadableResults()).toBeUndefined();
});

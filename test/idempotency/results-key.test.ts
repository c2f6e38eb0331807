/**
 * A database opened with another results key than its results were sealed with — restored
 * without `keygate-results.key`, or `KEYGATE_RESULTS_KEY` changed — cannot replay them. Its
 * retries stay 500 (never run again), and the operator is told why: at start, and on each one.
 */
import { beforeEach, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackgroundWork } from "../../src/app/background-work.ts";
import { revokeApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { appOver, codeOf } from "../support/http.ts";
import { databaseFilePerTest, errorOf, FakeClock, TEST_ACTOR } from "../support/keygate.ts";

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

test("restored without its key file while results are in their window: no key is made, serving is refused; a key made on purpose serves, and says what it cannot open", async () => {
  const keyFile = join(database.dir(), "keygate-results.key");
  const first = appOver(database.open({ clock }));
  const init = initPlatform(first.kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const created = await first.call("POST", "/v1/api-keys", { key: init.keys.live, ...request });
  rmSync(keyFile);

  const restored = database.open({ clock });
  expect(existsSync(keyFile)).toBe(false);
  expect(restored.missingResultsKey).toBe(
    `${keyFile} is missing, but up to 1 result(s) recorded under Idempotency-Key, until 2026-01-02T00:00:00.000Z, are sealed with it: put the file back from where it was kept with the database's backups (or set KEYGATE_RESULTS_KEY); if it is lost, make a new one on purpose (openssl rand -hex 32 > ${keyFile}; chmod 600 ${keyFile}), and their retries are answered 500, never run again, until then`,
  );
  const refused = errorOf(() => startBackgroundWork(restored, () => {}), ConfigError);
  expect(refused.message).toBe(restored.missingResultsKey as string);
  // What needs no results key still runs: a leaked key can be revoked.
  expect(revokeApiKey(restored, created.body.id, null, TEST_ACTOR).status).toBe("revoked");

  writeFileSync(keyFile, ANOTHER, { mode: 0o600 });
  const renewed = database.open({ clock });
  expect(renewed.missingResultsKey).toBeUndefined();
  const said: unknown[] = [];
  await startBackgroundWork(renewed, (error) => said.push(error)).stop();
  expect(said.map(String)).toEqual([expect.stringContaining("Up to 1 recorded result(s)")]);

  // Once the results have left their window, a missing file is simply made anew.
  rmSync(keyFile);
  clock.advance(24 * 3600);
  expect(database.open({ clock }).missingResultsKey).toBeUndefined();
  expect(existsSync(keyFile)).toBe(true);
});

test("once the results have expired, nothing is left to warn about", async () => {
  await recorded();
  clock.advance(24 * 3600);
  expect(open(ANOTHER).kg.idempotency.unreadableResults()).toBeUndefined();
});

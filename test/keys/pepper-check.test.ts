/**
 * A database records the pepper its keys are hashed with, and a process with another one is
 * refused before it hashes anything (src/keys/pepper-check.ts): without the check it found no
 * key, and minted keys that worked nowhere else.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, revokeApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { createApp } from "../../src/http/app.ts";
import { appOver, codeOf } from "../support/http.ts";
import { databaseFilePerTest, errorOf, FakeClock, TEST_ACTOR } from "../support/keygate.ts";

const PEPPER = "a-pepper-of-this-deployment-0001";
const OTHER = "another-pepper-of-some-deploy-02";

const database = databaseFilePerTest();
const clock = new FakeClock();

/** Opens the test's database with `pepper` (none when undefined). */
const open = (pepper: string | undefined): Keygate =>
  database.open({ clock, env: pepper ? { KEYGATE_PEPPER: pepper } : {} });

/** Makes the database with `pepper`; its platform entity and keys. */
function made(pepper: string | undefined) {
  const init = initPlatform(open(pepper), TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  return init;
}

const refusal = (run: () => unknown) => errorOf(run, ConfigError);

const eventCount = (kg: Keygate) =>
  kg.db.sql.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM events").get()?.n;
const liveKeyId = (kg: Keygate) =>
  (
    kg.db.sql
      .prepare<{ id: string }>("SELECT id FROM api_keys WHERE environment = 'live'")
      .get() as { id: string }
  ).id;

describe("a process whose pepper is not the database's is refused before it hashes a secret", () => {
  const cases = [
    {
      made: PEPPER,
      opened: undefined,
      says: "KEYGATE_PEPPER is not set, but this database's keys are hashed with a pepper",
    },
    {
      made: PEPPER,
      opened: OTHER,
      says: "KEYGATE_PEPPER is not the pepper this database's keys are hashed with",
    },
    {
      made: undefined,
      opened: PEPPER,
      says: "KEYGATE_PEPPER is set, but this database's keys are hashed without a pepper",
    },
  ];
  for (const c of cases) {
    test(c.says, () => {
      const init = made(c.made);
      const kg = open(c.opened);
      const input = { entityId: init.entityId, environment: "live", name: "x", scopes: ["*"] };
      const creation = refusal(() => createApiKey(kg, input as never, TEST_ACTOR));
      expect(creation.message).toContain(c.says);
      expect(creation.message).toMatch(/every key would be refused as unknown/);
      expect(refusal(() => rotateApiKey(kg, liveKeyId(kg), 0, TEST_ACTOR)).message).toContain(
        c.says,
      );
      // No app that authenticates is built: the server does not start.
      expect(refusal(() => createApp(kg, { accessLog: false })).message).toContain(c.says);
      expect(eventCount(kg)).toBe(3);
    });
  }
});

test("revoking needs no pepper: a leaked key can be stopped from any shell", () => {
  made(PEPPER);
  const kg = open(undefined);
  expect(revokeApiKey(kg, liveKeyId(kg), null, TEST_ACTOR).status).toBe("revoked");
});

test("the same pepper is accepted, and the database holds a slow hash of it, not the pepper", async () => {
  const init = made(PEPPER);
  const app = appOver(open(PEPPER));
  expect((await app.call("GET", "/v1/me", { key: init.keys.live })).status).toBe(200);
  const verifier = app.kg.db.sql
    .prepare<{ verifier: string }>("SELECT verifier FROM pepper_check")
    .get()?.verifier;
  expect(verifier).toMatch(/^scrypt:16384:8:1:[0-9a-f]{32}:[0-9a-f]{64}$/);
  app.kg.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  expect(readFileSync(database.path()).includes(Buffer.from(PEPPER))).toBe(false);
});

describe("a database made before the record: the first key found by its hash records it", () => {
  /** The database made with `pepper`, then its record taken away, as before migration 0013. */
  function madeBeforeTheRecord(pepper: string | undefined) {
    const init = made(pepper);
    open(pepper).db.sql.exec("DELETE FROM pepper_check");
    return init;
  }

  test("opened with the wrong pepper, every key is unknown and nothing is recorded", async () => {
    const init = madeBeforeTheRecord(PEPPER);
    const wrong = appOver(open(OTHER));
    expect(codeOf(await wrong.call("GET", "/v1/me", { key: init.keys.live }))).toBe(
      "api_key_invalid",
    );
    expect(wrong.kg.pepper.unrecorded).toBe(true);
    expect(wrong.kg.db.sql.prepare("SELECT * FROM pepper_check").all()).toEqual([]);
  });

  test("opened with the right one, the first key found records it, and the wrong one is then refused", async () => {
    const init = madeBeforeTheRecord(PEPPER);
    const right = appOver(open(PEPPER));
    expect(right.kg.pepper.unrecorded).toBe(true);
    expect((await right.call("GET", "/v1/me", { key: init.keys.live })).status).toBe(200);
    expect(right.kg.pepper.unrecorded).toBe(false);
    expect(refusal(() => createApp(open(OTHER), { accessLog: false })).message).toContain(
      "KEYGATE_PEPPER is not the pepper",
    );
  });

  test("without a pepper, the first key found records that there is none", async () => {
    const init = madeBeforeTheRecord(undefined);
    const none = appOver(open(undefined));
    expect((await none.call("GET", "/v1/me", { key: init.keys.test })).status).toBe(200);
    expect(refusal(() => createApp(open(PEPPER), { accessLog: false })).message).toContain(
      "hashed without a pepper",
    );
  });
});

test("an edited record whose scrypt parameters cannot run is a refusal naming the pepper, not a crash", () => {
  made(PEPPER);
  const kg = open(PEPPER);
  kg.db.sql.exec("UPDATE pepper_check SET verifier = 'scrypt:3:8:1:00:abcd'");
  expect(refusal(() => createApp(open(PEPPER), { accessLog: false })).message).toContain(
    "KEYGATE_PEPPER is not the pepper this database's keys are hashed with",
  );
});

test("a record that cannot be written loses nothing: init still returns its keys, a request is still answered", async () => {
  const kg = open(PEPPER);
  kg.db.sql.exec("DROP TABLE pepper_check"); // every write to it now fails
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  expect(init.keys.live).toStartWith("sk_live_");
  expect(kg.pepper.unrecorded).toBe(true);
  const app = appOver(kg);
  expect((await app.call("GET", "/v1/me", { key: init.keys.live })).status).toBe(200);
  expect(app.internalErrors).toEqual([]);
});

/**
 * A server whose configured key prefixes are not its keys' is refused at start
 * (src/keys/prefix-check.ts): it would refuse every key as malformed, the platform's included.
 */
import { expect, test } from "bun:test";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, revokeApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { createApp } from "../../src/http/app.ts";
import { appOver, codeOf } from "../support/http.ts";
import { databaseFilePerTest, errorOf, TEST_ACTOR } from "../support/keygate.ts";

const database = databaseFilePerTest();

/** Opens the test's database with `keys` as the config file's `keys` section. */
const open = (keys: object = {}): Keygate => database.open({ config: { keys } });

/** The message of the ConfigError building the app throws. */
const startRefusal = (kg: Keygate): string =>
  errorOf(() => createApp(kg, { accessLog: false }), ConfigError).message;

const ids = (kg: Keygate) =>
  kg.db.sql
    .prepare<{ id: string }>("SELECT id FROM api_keys")
    .all()
    .map((r) => r.id);

test("another secret prefix than the database's keys carry: the start is refused, naming both", () => {
  initPlatform(open(), TEST_ACTOR);
  const message = startRefusal(open({ secret_prefix: "ck" }));
  expect(message).toStartWith(
    'keys.secret_prefix is "ck", but none of this database\'s active keys starts with "ck_" (they start with "sk_"): every key would be refused as malformed.',
  );
  expect(message).toContain("each preset wants a database of its own");
});

test("another public prefix than the database's active pairs carry: refused; with no active pair, not", () => {
  const kg = open();
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const pairInput = { entityId: init.entityId, environment: "live", name: "p", scopes: ["*"] };
  const pair = createApiKey(kg, { ...pairInput, kind: "pair" } as never, TEST_ACTOR);
  expect(startRefusal(open({ public_prefix: "pub" }))).toStartWith(
    'keys.public_prefix is "pub", but none of this database\'s active key pairs has a public key starting with "pub_" (they start with "pk_")',
  );
  revokeApiKey(kg, pair.id, null, TEST_ACTOR);
  expect(() => createApp(open({ public_prefix: "pub" }), { accessLog: false })).not.toThrow();
});

test("a database with no active key starts under any prefix", () => {
  const kg = open();
  initPlatform(kg, TEST_ACTOR);
  for (const id of ids(kg)) revokeApiKey(kg, id, null, TEST_ACTOR);
  expect(() => createApp(open({ secret_prefix: "ck" }), { accessLog: false })).not.toThrow();
});

test("a change of prefix on purpose: one key made with the new prefix first, then the old keys stop working", async () => {
  const old = initPlatform(open(), TEST_ACTOR);
  if (!old.created) throw new Error("expected a fresh database");
  const renamed = open({ secret_prefix: "ck" });
  const input = { entityId: old.entityId, environment: "live", name: "new", scopes: ["*"] };
  const created = createApiKey(renamed, input as never, TEST_ACTOR);
  expect(created.secret).toStartWith("ck_live_");
  const app = appOver(renamed);
  expect((await app.call("GET", "/v1/me", { key: created.secret })).status).toBe(200);
  expect(codeOf(await app.call("GET", "/v1/me", { key: old.keys.live }))).toBe("api_key_malformed");
});

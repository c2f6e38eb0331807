/**
 * The JWT and results keys kept in files beside the database: made on first start, and held to
 * the rules `KEYGATE_JWT_SECRET` and `KEYGATE_RESULTS_KEY` are held to. A damaged file (or one
 * written by hand too short) stops the start with a message naming it, not an unexpected failure.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../src/config/config-error.ts";
import { databaseFilePerTest, errorOf } from "../support/keygate.ts";

const database = databaseFilePerTest();
const file = (name: string) => join(database.dir(), name);

describe("the key files beside the database", () => {
  test("are made on first start, 64 hex characters each, and read back as they are", () => {
    database.open().close();
    const jwt = readFileSync(file("keygate-jwt.key"), "utf8");
    const results = readFileSync(file("keygate-results.key"), "utf8");
    expect([jwt, results]).toEqual([
      expect.stringMatching(/^[0-9a-f]{64}$/),
      expect.stringMatching(/^[0-9a-f]{64}$/),
    ]);
    expect(database.open().jwtSecret).toBe(jwt);
  });

  test("one that cannot be its key is refused, naming the file, the rule and what to do", () => {
    database.open().close();
    const refusals: [string, string, string][] = [
      [
        "keygate-jwt.key",
        "short",
        "cannot be the key KEYGATE_JWT_SECRET would give: it must be at least 32 characters (an HS256 key of 256 bits or more, RFC 7518 §3.2). Put back the file kept with the database's backups (or set KEYGATE_JWT_SECRET); if it is lost, delete it: a new one is made at the next start, and signed-in users sign in again",
      ],
      [
        "keygate-results.key",
        "z".repeat(64),
        "cannot be the key KEYGATE_RESULTS_KEY would give: it must be 64 hexadecimal characters (32 bytes). Put back the file kept with the database's backups (or set KEYGATE_RESULTS_KEY); if it is lost, move it away: the next start says whether a new one may be made",
      ],
    ];
    for (const [name, content, message] of refusals) {
      const kept = readFileSync(file(name), "utf8");
      writeFileSync(file(name), content);
      expect(errorOf(() => database.open(), ConfigError).message).toBe(`${file(name)} ${message}`);
      writeFileSync(file(name), kept);
    }
    expect(database.open().jwtSecret).toBe(readFileSync(file("keygate-jwt.key"), "utf8"));
  });

  test("a key the environment gives wins: its file is not read", () => {
    database.open().close();
    writeFileSync(file("keygate-jwt.key"), "damaged");
    writeFileSync(file("keygate-results.key"), "damaged");
    const given = { KEYGATE_JWT_SECRET: "j".repeat(40), KEYGATE_RESULTS_KEY: "a".repeat(64) };
    expect(database.open({ env: given }).jwtSecret).toBe(given.KEYGATE_JWT_SECRET);
  });
});

/**
 * The checkpoint key is the auditors' trust root: it is made for a database that has no
 * checkpoint, never silently for one that has, nothing signs with another key than the latest
 * checkpoint's signer, and a new key is made only on purpose, where no key file is.
 */
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startBackgroundWork } from "../../src/app/background-work.ts";
import {
  checkpointKey,
  checkpointKeyFileProblem,
  checkpointKeyProblem,
  existingCheckpointKey,
  newCheckpointKey,
  signingCheckpointKey,
} from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { ConfigError } from "../../src/config/config-error.ts";
import { databaseFilePerTest, errorOf, TEST_ACTOR } from "../support/keygate.ts";

const database = databaseFilePerTest();
const keyFile = () => join(database.dir(), "keygate-checkpoint.key");

/** A database with its platform and one checkpoint, signed with the key file beside it. */
function signedDatabase() {
  const kg = database.open();
  initPlatform(kg, TEST_ACTOR);
  const key = signingCheckpointKey(kg.config, kg.db.sql);
  appendCheckpoint(kg.db.sql, key, kg.now());
  return { kg, key };
}

const count = (kg: ReturnType<typeof database.open>) =>
  kg.db.sql.prepare<{ n: number }>("SELECT count(*) AS n FROM checkpoints").get()?.n;

describe("the checkpoint key", () => {
  test("is made, 0600, for a database without checkpoints, and read back after", () => {
    const kg = database.open();
    expect(existingCheckpointKey(kg.config)).toBeUndefined();
    const made = checkpointKey(kg.config, kg.db.sql);
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    expect(checkpointKey(kg.config, kg.db.sql).publicKeyBase64).toBe(made.publicKeyBase64);
    expect(existingCheckpointKey(kg.config)?.publicKeyBase64).toBe(made.publicKeyBase64);
  });

  test("missing from a database that holds checkpoints (a restore without it): refused, and none is made", () => {
    const { kg, key } = signedDatabase();
    renameSync(keyFile(), `${keyFile()}.elsewhere`);
    for (const load of [checkpointKey, signingCheckpointKey]) {
      const refused = errorOf(() => load(kg.config, kg.db.sql), ConfigError);
      expect(refused.message).toBe(
        `${keyFile()} is missing, but the database holds checkpoints signed by the key ${key.publicKeyBase64}: put the file back from where it was kept with the database's backups (or point KEYGATE_CHECKPOINT_KEY at it); if it is lost, stop the server and run keygate audit checkpoint --new-key, then give the auditors the new public half`,
      );
    }
    expect(existsSync(keyFile())).toBe(false);
    renameSync(`${keyFile()}.elsewhere`, keyFile());
    expect(signingCheckpointKey(kg.config, kg.db.sql).publicKeyBase64).toBe(key.publicKeyBase64);
  });

  test("another key than the latest checkpoint's signer does not sign: refused, nothing appended", () => {
    const { kg } = signedDatabase();
    renameSync(keyFile(), `${keyFile()}.old`);
    const other = newCheckpointKey(kg.config);
    expect(errorOf(() => signingCheckpointKey(kg.config, kg.db.sql), ConfigError).message).toMatch(
      /keygate-checkpoint\.key is not the key that signed the database's latest checkpoint \(.+, key .+\): point KEYGATE_CHECKPOINT_KEY at that key's file; if it is lost, move this file away, stop the server and run keygate audit checkpoint --new-key$/,
    );
    // Only the loader that signs refuses; what reads the key to verify with may hold another.
    expect(checkpointKey(kg.config, kg.db.sql).publicKeyBase64).toBe(other.publicKeyBase64);
    expect(count(kg)).toBe(1);
  });

  test("a file that is not an Ed25519 private key (damaged, a public key, an RSA key) is refused, naming it, wherever the key is read", () => {
    const { kg, key } = signedDatabase();
    const kept = readFileSync(keyFile(), "utf8");
    const contents: [string, string][] = [
      ["garbage\n", "NO_START_LINE"],
      [key.publicKeyPem, "NO_START_LINE"],
      [
        generateKeyPairSync("rsa", { modulusLength: 2048 })
          .privateKey.export({ type: "pkcs8", format: "pem" })
          .toString(),
        "a rsa key",
      ],
    ];
    for (const [content, why] of contents) {
      writeFileSync(keyFile(), content);
      const expected = new RegExp(
        `^${keyFile().replace(/[.*+?^$()|[\]\\]/g, "\\$&")} is not an Ed25519 private key in PEM \\(.*${why}.*\\): put back the file kept with the database's backups`,
      );
      for (const load of [
        existingCheckpointKey,
        (c: typeof kg.config) => checkpointKey(c, kg.db.sql),
      ])
        expect(errorOf(() => load(kg.config), ConfigError).message).toMatch(expected);
      expect(
        errorOf(() => signingCheckpointKey(kg.config, kg.db.sql), ConfigError).message,
      ).toMatch(expected);
      expect(checkpointKeyProblem(kg.config, kg.db.sql)).toMatch(expected);
    }
    writeFileSync(keyFile(), kept);
    expect(checkpointKeyProblem(kg.config, kg.db.sql)).toBeUndefined();
  });

  test("with checkpoints off, a damaged key file is still refused at start: verifying over HTTP reads it", async () => {
    const off = { audit: { checkpoint_interval_seconds: 0 } };
    const kg = database.open({ config: off });
    initPlatform(kg, TEST_ACTOR);
    writeFileSync(keyFile(), "damaged\n");
    expect(errorOf(() => startBackgroundWork(kg, () => {}), ConfigError).message).toStartWith(
      `${keyFile()} is not an Ed25519 private key in PEM (`,
    );
    expect(checkpointKeyFileProblem(kg.config)).toStartWith(`${keyFile()} is not an Ed25519`);
    renameSync(keyFile(), `${keyFile()}.elsewhere`); // kept elsewhere, as such a deployment may
    await startBackgroundWork(kg, () => {}).stop();
    expect(checkpointKeyFileProblem(kg.config)).toBeUndefined();
  });

  test("a new key is made only where no key file is, and once it signed, it is the signer", () => {
    const { kg, key } = signedDatabase();
    expect(errorOf(() => newCheckpointKey(kg.config), ConfigError).message).toBe(
      `${keyFile()} exists: a new key is made only where there is none, so move that file away first (keep it if the auditors still trust it)`,
    );
    expect(checkpointKey(kg.config, kg.db.sql).publicKeyBase64).toBe(key.publicKeyBase64);
    renameSync(keyFile(), `${keyFile()}.lost`);
    const renewed = newCheckpointKey(kg.config);
    expect(statSync(keyFile()).mode & 0o777).toBe(0o600);
    expect(renewed.publicKeyBase64).not.toBe(key.publicKeyBase64);
    appendCheckpoint(kg.db.sql, renewed, kg.now());
    expect(signingCheckpointKey(kg.config, kg.db.sql).publicKeyBase64).toBe(
      renewed.publicKeyBase64,
    );
    expect(verifyLog(kg.db.sql, { trustedPublicKey: renewed.publicKeyBase64 }).ok).toBe(true);
    expect(verifyLog(kg.db.sql, { trustedPublicKey: key.publicKeyBase64 })).toMatchObject({
      ok: false,
      problem: "the latest signed checkpoint is signed with a key that is not the trusted one",
    });
  });
});

/**
 * The audit commands as an auditor runs them: `keygate audit …` in a child process on a real
 * database file; the Python verifier of docs/audit.md on an export.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { keygate, ROOT } from "../support/spawn.ts";
import { historyDatabase } from "./fixture.ts";

const tmp = tempDir();
afterAll(tmp.remove);

/** The Python verifier, as docs/audit.md prints it. */
function pythonVerifier(): string {
  const doc = readFileSync(join(ROOT, "docs", "audit.md"), "utf8");
  const code = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!code) throw new Error("docs/audit.md has no python block");
  expect(code.trim().split("\n").length).toBeLessThanOrEqual(30);
  const path = join(tmp.dir, "verify_export.py");
  writeFileSync(path, code);
  return path;
}

describe("keygate audit", () => {
  test("verify: exit 0 on an intact log; 1 naming the position once a byte changed", async () => {
    const history = await historyDatabase(tmp.dir, "cli-verify");
    const env = { KEYGATE_DB: history.path };
    const intact = keygate(["audit", "verify"], env);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain(`intact: ${history.events} events`);
    const db = new Database(history.path);
    db.exec("DROP TRIGGER events_no_update");
    db.exec(
      `UPDATE events SET data = replace(data, 'billing', 'billinG') WHERE type = 'api_key.created' AND data LIKE '%billing%'`,
    );
    const position = (
      db.query("SELECT position FROM events WHERE data LIKE '%billinG%'").get() as {
        position: number;
      }
    ).position;
    db.close();
    const broken = keygate(["audit", "verify"], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`position ${position}:`);
    const json = JSON.parse(keygate(["audit", "verify", "--json"], env).stdout);
    expect(json).toMatchObject({ ok: false, position });
  });

  test("verify --checkpoint: a checkpoint kept from earlier catches a tail cut with the checkpoints covering it", async () => {
    const history = await historyDatabase(tmp.dir, "cli-held", { checkpoint: false });
    const env = { KEYGATE_DB: history.path };
    const heldPath = join(tmp.dir, "held.json");
    writeFileSync(heldPath, keygate(["audit", "checkpoint", "--json"], env).stdout);
    const intact = keygate(["audit", "verify", "--checkpoint", heldPath], env);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain(`and the held checkpoint of`);
    // Kept in a Windows editor, the file starts with a byte-order mark: read all the same.
    const withBom = join(tmp.dir, "held-bom.json");
    writeFileSync(withBom, `\ufeff${readFileSync(heldPath, "utf8")}`);
    expect(keygate(["audit", "verify", "--checkpoint", withBom], env).code).toBe(0);
    const db = new Database(history.path);
    db.exec("DROP TRIGGER events_no_delete; DROP TRIGGER checkpoints_no_delete;");
    db.exec(`DELETE FROM checkpoints; DELETE FROM events WHERE position = ${history.events};`);
    db.exec("DELETE FROM streams WHERE stream_id NOT IN (SELECT stream_id FROM events)");
    db.exec(
      "UPDATE streams SET version = (SELECT max(stream_version) FROM events e WHERE e.stream_id = streams.stream_id)",
    );
    db.close();
    expect(keygate(["audit", "verify"], env).code).toBe(0);
    const cut = keygate(["audit", "verify", "--checkpoint", heldPath, "--json"], env);
    expect(cut.code).toBe(1);
    expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, position: history.events });

    const held = JSON.parse(readFileSync(heldPath, "utf8"));
    writeFileSync(heldPath, JSON.stringify({ ...held, size: -1 }));
    const bad = keygate(["audit", "verify", "--checkpoint", heldPath], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      `--checkpoint ${heldPath}: not a checkpoint: size: Expected integer to be greater or equal to 0`,
    );
    const missing = keygate(["audit", "verify", "--checkpoint", join(tmp.dir, "nope.json")], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read the file");
  });

  test("verify --public-key: the kept key verifies; another key's checkpoint is NOT intact; a file that holds no Ed25519 key is bad usage", async () => {
    const history = await historyDatabase(tmp.dir, "cli-public-key");
    const env = { KEYGATE_DB: history.path };
    const pemFile = (name: string, pem: string) => {
      const path = join(tmp.dir, name);
      writeFileSync(path, pem);
      return path;
    };
    const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();
    const kept = pemFile("kept.pem", keygate(["audit", "public-key"], env).stdout);
    const trusted = keygate(["audit", "verify", "--public-key", kept], env);
    expect([trusted.code, trusted.stdout]).toEqual([
      0,
      expect.stringContaining("matches the checkpoint"),
    ]);

    const other = keygate(
      [
        "audit",
        "verify",
        "--public-key",
        pemFile("other.pem", spki(generateKeyPairSync("ed25519").publicKey)),
      ],
      env,
    );
    expect(other.code).toBe(1);
    expect(other.stdout).toContain("not the trusted one");

    const refusals: [string, string][] = [
      [join(tmp.dir, "absent.pem"), "cannot read the file"],
      [pemFile("not-pem.txt", "hello\n"), "not a PEM key"],
      [
        pemFile("rsa.pem", spki(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey)),
        "not an Ed25519 key (rsa)",
      ],
    ];
    for (const [path, why] of refusals) {
      const refused = keygate(["audit", "verify", "--public-key", path], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`--public-key ${path}: ${why}`);
      expect(refused.stderr).not.toContain("unexpected failure");
    }
  });

  test("verify --checkpoint-public-key: a checkpoint kept from before the key was replaced is checked against its own signer, the latest against --public-key", async () => {
    const history = await historyDatabase(tmp.dir, "cli-renewed", { checkpoint: false });
    const keyFile = join(tmp.dir, "renewed-checkpoint.key");
    const env = { KEYGATE_DB: history.path, KEYGATE_CHECKPOINT_KEY: keyFile };
    const file = (name: string, text: string) => {
      const path = join(tmp.dir, name);
      writeFileSync(path, text);
      return path;
    };
    const held = file("renewed-held.json", keygate(["audit", "checkpoint", "--json"], env).stdout);
    const oldKey = file("renewed-old.pem", keygate(["audit", "public-key"], env).stdout);
    renameSync(keyFile, `${keyFile}.lost`);
    expect(keygate(["audit", "checkpoint", "--new-key"], env).code).toBe(0);
    const newKey = file("renewed-new.pem", keygate(["audit", "public-key"], env).stdout);
    const verifyWith = (...args: string[]) => keygate(["audit", "verify", ...args], env);

    const oneKey = verifyWith("--public-key", newKey, "--checkpoint", held);
    expect([oneKey.code, oneKey.stdout]).toEqual([
      1,
      expect.stringContaining(
        "the held checkpoint is signed with a key that is not the trusted one",
      ),
    ]);
    const both = verifyWith(
      ...["--public-key", newKey, "--checkpoint", held, "--checkpoint-public-key", oldKey],
    );
    expect([both.code, both.stdout]).toEqual([
      0,
      expect.stringContaining("and the held checkpoint of"),
    ]);
    // The old key vouches for the held checkpoint only: the latest must be the new key's.
    const oldForLatest = verifyWith(
      ...["--public-key", oldKey, "--checkpoint", held, "--checkpoint-public-key", oldKey],
    );
    expect([oldForLatest.code, oldForLatest.stdout]).toEqual([
      1,
      expect.stringContaining(
        "the latest signed checkpoint is signed with a key that is not the trusted one",
      ),
    ]);
    // The key named for the held checkpoint must be the one that signed it.
    const forged = verifyWith(
      ...["--public-key", newKey, "--checkpoint", held, "--checkpoint-public-key", newKey],
    );
    expect(forged.code).toBe(1);

    const alone = verifyWith("--checkpoint-public-key", oldKey);
    expect([alone.code, alone.stdout]).toEqual([2, ""]);
    expect(alone.stderr).toContain(
      "--checkpoint-public-key names the key the --checkpoint file is signed with: give --checkpoint too",
    );
    const notAKey = verifyWith(...["--checkpoint", held, "--checkpoint-public-key", held]);
    expect(notAKey.code).toBe(2);
    expect(notAKey.stderr).toContain(`--checkpoint-public-key ${held}: not a PEM key`);
  });

  test("checkpoint and public-key: the signature verifies with the published key", async () => {
    const history = await historyDatabase(tmp.dir, "cli-checkpoint", { checkpoint: false });
    const env = { KEYGATE_DB: history.path };
    const signed = JSON.parse(keygate(["audit", "checkpoint", "--json"], env).stdout);
    expect(signed).toMatchObject({ size: history.events, created: true });
    expect(signed.message).toBe(
      `keygate-checkpoint/v1 size=${history.events} head=${signed.head_hash} time=${signed.created_at}`,
    );
    const again = JSON.parse(keygate(["audit", "checkpoint", "--json"], env).stdout);
    expect(again.created).toBe(false);
    const pem = keygate(["audit", "public-key"], env).stdout;
    expect(pem).toStartWith("-----BEGIN PUBLIC KEY-----");
    expect(
      verify(
        null,
        Buffer.from(signed.message),
        createPublicKey(pem),
        Buffer.from(signed.signature, "base64"),
      ),
    ).toBe(true);
    const keyFile = join(tmp.dir, "keygate-checkpoint.key");
    expect((Bun.file(keyFile).size ?? 0) > 0).toBe(true);
    expect(require("node:fs").statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  test("export: JSON Lines the Python verifier of docs/audit.md accepts, checkpoint included", async () => {
    const history = await historyDatabase(tmp.dir, "cli-export");
    const env = { KEYGATE_DB: history.path };
    const exported = keygate(["audit", "export"], env);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(history.events);
    const logPath = join(tmp.dir, "log.jsonl");
    writeFileSync(logPath, exported.stdout);
    const checkpoint = JSON.parse(keygate(["audit", "checkpoint", "--json"], env).stdout);
    const python = (args: string[]) => Bun.spawnSync(["python3", pythonVerifier(), ...args]);
    const ok = python([logPath, String(checkpoint.size), checkpoint.head_hash]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.toString()).toBe(
      `ok: ${history.events} events, head ${checkpoint.head_hash}\n`,
    );

    writeFileSync(logPath, exported.stdout.replace('"billing"', '"b1lling"'));
    const bad = python([logPath]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr.toString()).toContain("bad event at position");

    const after = keygate(["audit", "export", "--after", "5"], env).stdout.trimEnd().split("\n");
    expect(JSON.parse(after[0] as string).position).toBe(6);
    const onlyKey = keygate(["audit", "export", "--stream", history.keyId], env)
      .stdout.trimEnd()
      .split("\n");
    expect(onlyKey.every((l) => JSON.parse(l).stream_id === history.keyId)).toBe(true);
    const revocations = keygate(["audit", "export", "--type", "api_key.revoked"], env)
      .stdout.trimEnd()
      .split("\n");
    // The history revokes two keys: "old" and "billing".
    expect(revocations.map((l) => JSON.parse(l).type)).toEqual([
      "api_key.revoked",
      "api_key.revoked",
    ]);
    // Only digits: 0x10 and 1e2 were read as 16 and 100, and the export began there.
    for (const given of ["x", "0x10", "1e2", "5.0", " 5", "-1", "99999999999999999999"]) {
      const refused = keygate(["audit", "export", `--after=${given}`], env);
      expect([given, refused.code, refused.stdout]).toEqual([given, 2, ""]);
      expect(refused.stderr).toStartWith(
        `keygate: --after must be a position: a whole number in digits (0 or more), not "${given}"`,
      );
    }
    const misspelt = keygate(["audit", "export", "--type", "api_key.revoke"], env);
    expect([misspelt.code, misspelt.stdout]).toEqual([2, ""]);
    expect(misspelt.stderr).toStartWith("keygate: --type must be an event type (entity.created, ");
    expect(misspelt.stderr).toContain("api_key.revoked, ");
    expect(misspelt.stderr).toContain('), not "api_key.revoke"\n');
  });

  test("timeline: one key's life in order, for people or as JSON", async () => {
    const history = await historyDatabase(tmp.dir, "cli-timeline");
    const env = { KEYGATE_DB: history.path };
    const human = keygate(["audit", "timeline", history.keyId], env).stdout.trimEnd().split("\n");
    expect(human.map((l) => /v\d+\s+(\S+)/.exec(l)?.[1])).toEqual([
      "api_key.created",
      "api_key.updated",
      "api_key.rotated",
      "api_key.revoked",
    ]);
    expect(human.join("\n")).not.toContain("secret_hash");
    const json = keygate(["audit", "timeline", history.keyId, "--json"], env)
      .stdout.trimEnd()
      .split("\n");
    expect(json.map((l) => JSON.parse(l).stream_version)).toEqual([1, 2, 3, 4]);
    expect(keygate(["audit", "timeline", "key_missing"], env).code).toBe(1);
  });

  test("replay: identical on a faithful database; the rows that differ once a projection is edited", async () => {
    const history = await historyDatabase(tmp.dir, "cli-replay");
    const env = { KEYGATE_DB: history.path };
    const same = keygate(["audit", "replay"], env);
    expect(same.code).toBe(0);
    expect(same.stdout.trim()).toBe("identical");
    const db = new Database(history.path);
    db.query("UPDATE api_keys SET name = 'renamed behind the log' WHERE id = ?").run(history.keyId);
    db.close();
    const differs = keygate(["audit", "replay"], env);
    expect(differs.code).toBe(1);
    expect(differs.stderr).toContain("stop the server and run keygate rebuild");
    expect(differs.stdout).toContain("api_keys:");
    expect(differs.stdout).toContain("live holds, log does not");
    expect(differs.stdout).toContain("renamed behind the log");
    const json = JSON.parse(keygate(["audit", "replay", "--json"], env).stdout);
    expect(json.identical).toBe(false);
    expect(json.differences[0].table).toBe("api_keys");
    expect(json.differences[0].only_in_live[0].name).toBe("renamed behind the log");
    expect(json.differences[0].only_in_replay[0].name).not.toBe("renamed behind the log");
  });
});

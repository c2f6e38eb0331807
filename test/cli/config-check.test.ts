/**
 * `keygate config check`: the configuration resolved as serve would, opening no database; with
 * `--database`, also the database as serve's start would judge it, changing nothing.
 */
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { openKeygate } from "../../src/app/keygate.ts";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { MIGRATIONS } from "../../src/db/migrations.generated.ts";
import { createApp } from "../../src/http/app.ts";
import { type EntityObject, findPlatformEntity } from "../../src/projections/queries.ts";
import { cliDatabases } from "../support/cli.ts";
import { TEST_ACTOR } from "../support/keygate.ts";
import { processWithArgument } from "../support/lock-holder.ts";
import { startServer } from "../support/server.ts";
import { keygate, ROOT } from "../support/spawn.ts";
import { selfSignedCertificate } from "../support/tls.ts";

setDefaultTimeout(30_000);

const { dir: scratch, freshDb } = cliDatabases();

describe("keygate config check", () => {
  test("resolves the configuration as serve would and says what it amounts to, opening no database", () => {
    const env = {
      ...freshDb(),
      KEYGATE_CONFIG: join(ROOT, "presets", "modulus.json"),
      KEYGATE_UPSTREAM: "http://127.0.0.1:4000",
      KEYGATE_PORT: "4123",
      KEYGATE_PEPPER: "pepper-that-must-not-print",
      KEYGATE_METRICS_TOKEN: "metrics-token-that-must-not-print",
      KEYGATE_JWT_SECRET: "a-jwt-secret-that-must-never-be-printed",
    };
    const json = keygate(["config", "check", "--json"], env);
    expect([json.code, json.stderr]).toEqual([0, ""]);
    const summary = JSON.parse(json.stdout);
    expect(summary).toMatchObject({
      valid: true,
      config_file: env.KEYGATE_CONFIG,
      database: env.KEYGATE_DB,
      port: 4123,
      tls: false,
      gateway: { upstream: "http://127.0.0.1:4000" },
    });
    expect(summary.gateway.routes[0]).toEqual({
      method: "POST",
      path: "/ecom/v1/checkout",
      scopes: ["checkout:write"],
      entity: { from: "body", name: "merchant_branch_reference_number" },
    });
    const text = keygate(["config", "check"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toStartWith(`configuration valid (KEYGATE_CONFIG ${env.KEYGATE_CONFIG})`);
    expect(text.stdout).toContain("POST /ecom/v1/checkout  needs checkout:write");
    for (const secret of ["pepper-that", "metrics-token", "jwt-secret"])
      expect(json.stdout + text.stdout).not.toContain(secret);
    expect(existsSync(dirname(env.KEYGATE_DB))).toBe(false);
  });

  test("bad configuration: exit 1 with the message serve stops with", () => {
    const path = join(scratch, "shadowed-head.json");
    writeFileSync(
      path,
      JSON.stringify({
        gateway: {
          routes: [
            { method: "GET", path: "/a/*" },
            { method: "HEAD", path: "/a/:id" },
          ],
        },
      }),
    );
    const env = { ...freshDb(), KEYGATE_CONFIG: path };
    const checked = keygate(["config", "check"], env);
    expect([checked.code, checked.stdout]).toEqual([1, ""]);
    expect(checked.stderr).toStartWith(
      `keygate: bad configuration: KEYGATE_CONFIG ${path}: gateway.routes[1].path: HEAD /a/:id would never serve a request`,
    );
    // What only the route table tells: a rate-limit policy on a path no route serves (a typo).
    const typo = join(scratch, "typo.json");
    writeFileSync(
      typo,
      JSON.stringify({
        rate_limits: {
          routes: [{ method: "POST", path: "/v1/api-key", limit: 5, window_seconds: 60 }],
        },
      }),
    );
    const typoChecked = keygate(["config", "check"], { ...env, KEYGATE_CONFIG: typo });
    expect([typoChecked.code, typoChecked.stderr]).toEqual([
      1,
      `keygate: bad configuration: KEYGATE_CONFIG ${typo}: rate_limits.routes[0]: no route of this server serves POST /v1/api-key, so the policy would never apply\n`,
    ]);
    expect(
      keygate(["config", "check"], { ...env, KEYGATE_CONFIG: "", KEYGATE_PORT: "x" }).code,
    ).toBe(1);
    expect(keygate(["config", "frobnicate"], env).code).toBe(2);
    expect(existsSync(dirname(env.KEYGATE_DB))).toBe(false);
  });

  test("TLS files are read and matched: a key of another certificate, or a file that is not there, is refused", () => {
    const dir = join(scratch, "config-tls");
    mkdirSync(dir, { recursive: true });
    const ours = selfSignedCertificate();
    const theirs = selfSignedCertificate();
    const files = {
      cert: join(dir, "cert.pem"),
      key: join(dir, "key.pem"),
      other: join(dir, "other.pem"),
    };
    writeFileSync(files.cert, ours.cert);
    writeFileSync(files.key, ours.key);
    writeFileSync(files.other, theirs.key);
    const env = (key: string) => ({
      ...freshDb(),
      KEYGATE_TLS_CERT: files.cert,
      KEYGATE_TLS_KEY: key,
    });
    const good = keygate(["config", "check", "--json"], env(files.key));
    expect([good.code, JSON.parse(good.stdout).tls]).toEqual([0, true]);
    const mismatched = keygate(["config", "check"], env(files.other));
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toContain("the private key does not belong to the certificate");
    const missing = keygate(["config", "check"], env(join(dir, "nowhere.pem")));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("KEYGATE_TLS_KEY");
    expect(missing.stderr).toContain("cannot read the file");
  });

  test("--database: what serve would refuse on the database is refused here first, with serve's message, and nothing is written", async () => {
    const db = freshDb();
    const check = (env: Record<string, string>, ...flags: string[]) =>
      keygate(["config", "check", "--database", ...flags], { ...db, ...env });
    const none = check({});
    expect([none.code, none.stdout]).toEqual([
      0,
      expect.stringContaining(`database: none yet at ${db.KEYGATE_DB}: serve creates it`),
    ]);
    expect(existsSync(dirname(db.KEYGATE_DB))).toBe(false);

    const pepper = { KEYGATE_PEPPER: "the-pepper" };
    expect(keygate(["init", "--json"], { ...db, ...pepper }).code).toBe(0);
    expect(keygate(["audit", "checkpoint"], { ...db, ...pepper }).code).toBe(0);
    await recordResult(db.KEYGATE_DB, pepper.KEYGATE_PEPPER);
    const bytes = () =>
      new Bun.CryptoHasher("sha256").update(readFileSync(db.KEYGATE_DB)).digest("hex");
    const before = bytes();
    const good = check(pepper, "--json");
    expect([good.code, good.stderr]).toEqual([0, ""]);
    expect(JSON.parse(good.stdout).database_check).toEqual({
      exists: true,
      pending_migrations: [],
      served_by: null,
      rebuilt_by: null,
    });

    const refusals: [Record<string, string>, string][] = [
      [
        { KEYGATE_PEPPER: "another" },
        "KEYGATE_PEPPER is not the pepper this database's keys are hashed with",
      ],
      [
        { KEYGATE_PEPPER: "" },
        "KEYGATE_PEPPER is not set, but this database's keys are hashed with a pepper",
      ],
      [
        { ...pepper, KEYGATE_CONFIG: join(ROOT, "presets", "crypto-checkout.json") },
        'keys.secret_prefix is "ck", but none of this database\'s active keys starts with "ck_"',
      ],
    ];
    for (const [env, message] of refusals) {
      const refused = check(env);
      expect([refused.code, refused.stdout]).toEqual([1, ""]);
      expect(refused.stderr).toStartWith(`keygate: bad configuration: ${message}`);
    }
    const dir = dirname(db.KEYGATE_DB);
    for (const [file, message] of [
      [
        "keygate-checkpoint.key",
        "is missing, but the database holds checkpoints signed by the key",
      ],
      ["keygate-results.key", "is missing, but up to 1 result(s) recorded under Idempotency-Key"],
    ] as const) {
      renameSync(join(dir, file), join(dir, `${file}.kept`));
      const refused = check(pepper);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toStartWith(
        `keygate: bad configuration: ${join(dir, file)} ${message}`,
      );
      expect(existsSync(join(dir, file))).toBe(false); // not made anew, as a start would not
      renameSync(join(dir, `${file}.kept`), join(dir, file));
    }
    // With checkpoints off the checkpoint key signs nothing, but verifying over HTTP reads it.
    const checkpointsOff = join(dir, "checkpoints-off.json");
    writeFileSync(checkpointsOff, JSON.stringify({ audit: { checkpoint_interval_seconds: 0 } }));
    for (const [file, message, env] of [
      ["keygate-jwt.key", "cannot be the key KEYGATE_JWT_SECRET would give", pepper],
      ["keygate-results.key", "cannot be the key KEYGATE_RESULTS_KEY would give", pepper],
      ["keygate-checkpoint.key", "is not an Ed25519 private key in PEM", pepper],
      [
        "keygate-checkpoint.key",
        "is not an Ed25519 private key in PEM",
        { ...pepper, KEYGATE_CONFIG: checkpointsOff },
      ],
    ] as const) {
      const kept = readFileSync(join(dir, file));
      writeFileSync(join(dir, file), "damaged\n");
      const refused = check(env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toStartWith(
        `keygate: bad configuration: ${join(dir, file)} ${message}`,
      );
      writeFileSync(join(dir, file), kept);
    }
    expect(check({ ...pepper, KEYGATE_CONFIG: checkpointsOff }).code).toBe(0);
    expect(bytes()).toBe(before);

    const server = await startServer({ ...db, ...pepper });
    try {
      const served = check(pepper, "--json");
      const pid = Number(readFileSync(`${db.KEYGATE_DB}.serve.pid`, "utf8"));
      expect(JSON.parse(served.stdout).database_check.served_by).toBe(pid);
      expect(check(pepper).stdout).toContain(`; served now by pid ${pid}`);
    } finally {
      await server.stop();
    }

    // A rebuild holds the database: serve's start would be refused until it finishes.
    const rebuild = await processWithArgument("rebuild");
    try {
      writeFileSync(`${db.KEYGATE_DB}.serve.pid`, `${rebuild.pid}\n`);
      const rebuilding = JSON.parse(check(pepper, "--json").stdout).database_check;
      expect([rebuilding.rebuilt_by, rebuilding.served_by]).toEqual([rebuild.pid, null]);
      expect(check(pepper).stdout).toContain(
        `; being rebuilt now by keygate rebuild (pid ${rebuild.pid}): serve is refused until it finishes`,
      );
    } finally {
      rebuild.kill();
      await rebuild.exited;
      rmSync(`${db.KEYGATE_DB}.serve.pid`, { force: true });
    }
  });

  test("--database on a database an earlier release made: the migrations serve would apply are named, none is applied", () => {
    const db = freshDb();
    mkdirSync(dirname(db.KEYGATE_DB), { recursive: true });
    const old = new Database(db.KEYGATE_DB);
    old.exec(readFileSync(join(ROOT, "test", "upgrade", "release-b9f4f9e", "keygate.sql"), "utf8"));
    old.close();
    const before = readFileSync(db.KEYGATE_DB);
    const config = join(dirname(db.KEYGATE_DB), "no-checkpoints.json");
    writeFileSync(config, JSON.stringify({ audit: { checkpoint_interval_seconds: 0 } }));
    const env = { ...db, KEYGATE_CONFIG: config, KEYGATE_RESULTS_KEY: "c".repeat(64) };
    const checked = keygate(["config", "check", "--database", "--json"], env);
    expect([checked.code, checked.stderr]).toEqual([0, ""]);
    const pending = JSON.parse(checked.stdout).database_check.pending_migrations;
    expect(pending).toEqual(MIGRATIONS.slice(MIGRATIONS.length - pending.length).map((m) => m.tag));
    expect(pending).toContain("0013_pepper_check");
    expect(readFileSync(db.KEYGATE_DB).equals(before)).toBe(true);
    const text = keygate(["config", "check", "--database"], env);
    expect(text.stdout).toContain(
      `serve applies ${pending.length} migration(s) first: ${pending.join(", ")}`,
    );
  });
});

/** Records one result under an Idempotency-Key in the database at `path` (its results key beside it). */
async function recordResult(path: string, pepper: string): Promise<void> {
  const kg = openKeygate(loadConfig({ KEYGATE_DB: path, KEYGATE_PEPPER: pepper }));
  try {
    const platform = findPlatformEntity(kg.db) as EntityObject;
    const { secret: admin } = createApiKey(
      kg,
      {
        entityId: platform.id,
        environment: "live",
        name: "admin",
        scopes: ["api_keys:write", "links:read"],
      },
      TEST_ACTOR,
    );
    const created = await createApp(kg, { accessLog: false }).handle(
      new Request("http://localhost/v1/api-keys", {
        method: "POST",
        headers: {
          authorization: `Bearer ${admin}`,
          "content-type": "application/json",
          "idempotency-key": "config-check-result-1",
        },
        body: JSON.stringify({ name: "billing", scopes: ["links:read"] }),
      }),
    );
    expect(created.status).toBe(200);
  } finally {
    kg.close();
  }
}

/** `keygate config check`: the configuration resolved as serve would, opening no database. */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cliDatabases } from "../support/cli.ts";
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
});

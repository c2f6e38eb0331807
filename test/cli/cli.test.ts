import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { STREAM_DOES_NOT_EXIST } from "../../src/store/expected-version.ts";
import { verifyPassword } from "../../src/users/password.ts";
import { TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";
import { keygate, keygateJson, ROOT } from "../support/spawn.ts";
import { keygateCommand } from "../support/target.ts";
import { selfSignedCertificate } from "../support/tls.ts";

// Each test runs the CLI as a process, up to twenty times: on a loaded machine that can take
// longer than bun's default 5 s.
setDefaultTimeout(30_000);

const tmp = tempDir();
afterAll(tmp.remove);
let n = 0;
const freshDb = () => ({ KEYGATE_DB: join(tmp.dir, `cli-${n++}`, "keygate.sqlite") });

/**
 * Runs `keygate ...args` with no file allowed to grow past `kib` KiB. SIGXFSZ is ignored, so a
 * write past it fails with EFBIG, as it does on a full disk, instead of killing the process.
 */
function keygateWithFileSizeLimit(kib: number, args: string[], env: Record<string, string>) {
  const { cmd, cwd } = keygateCommand(args);
  const script = `trap '' XFSZ; ulimit -f ${kib}; exec ${cmd.map((a) => `'${a}'`).join(" ")}`;
  return Bun.spawnSync(["bash", "-c", script], {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", ...env },
  });
}

/** Runs `read` on the CLI's database file, opened read-only and closed after. */
function withDb<T>(env: { KEYGATE_DB: string }, read: (db: Database) => T): T {
  const db = new Database(env.KEYGATE_DB, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

interface InitJson {
  entity_id: string;
  keys: { live: string; test: string } | null;
  message?: string;
}

describe("keygate init", () => {
  test("--json on a fresh database prints {entity_id, keys: {live, test}}; a second run changes nothing and says so", () => {
    const env = freshDb();
    const first = keygateJson<InitJson>(["init"], env);
    expect(Object.keys(first).sort()).toEqual(["entity_id", "keys"]);
    expect(first.entity_id).toMatch(/^ent_/);
    expect(first.keys?.live).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    expect(first.keys?.test).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);

    const eventsBefore = keygateJson<{ data: unknown[] }>(["keys", "list"], env).data.length;
    const second = keygateJson<InitJson>(["init"], env);
    expect(second).toEqual({
      entity_id: first.entity_id,
      keys: null,
      message: "already initialised; nothing changed",
    });
    const human = keygate(["init"], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/already initialised .*nothing changed/);
    expect(keygateJson<{ data: unknown[] }>(["keys", "list"], env).data.length).toBe(eventsBefore);
  });

  test("the platform keys hold * and belong to the platform entity", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const keys = keygateJson<{
      data: { scopes: string[]; entity_id: string; environment: string }[];
    }>(["keys", "list"], env).data;
    expect(keys.map((k) => k.environment).sort()).toEqual(["live", "test"]);
    for (const key of keys) expect(key).toMatchObject({ scopes: ["*"], entity_id: init.entity_id });
  });

  test("init with no room for its commit: exit 1, the message says nothing changed, no platform is half made", () => {
    const env = freshDb();
    // Migrated first, so that what meets the full disk is init's own transaction.
    expect(keygate(["entities", "list"], env).code).toBe(0);
    const human = keygateWithFileSizeLimit(36, ["init"], env);
    expect(human.exitCode).toBe(1);
    expect(human.stderr.toString()).toMatch(
      /^keygate: The change could not be saved, so nothing was changed; it is safe to retry\.\n {2}cause: disk I\/O error\n$/,
    );
    const count = (table: string) =>
      withDb(env, (db) => db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count("events"), count("entities"), count("api_keys")]).toEqual([0, 0, 0]);
    // With room again, init makes the whole platform, not a remainder.
    const done = keygateJson<InitJson>(["init"], env);
    expect(done.keys?.live).toMatch(/^sk_live_/);
    expect([count("events"), count("entities"), count("api_keys")]).toEqual([3, 1, 2]);
  });

  test("a new database whose schema finds no room: exit 1, says no migration was applied, no stack trace", () => {
    const env = freshDb();
    const result = keygateWithFileSizeLimit(36, ["init"], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toBe(
      `keygate: cannot open the database ${env.KEYGATE_DB}: its schema could not be brought up to date; no migration was applied (SQLite ended the transaction itself: a full disk or an I/O error)\n`,
    );
    expect(keygateJson<InitJson>(["init"], env).keys?.test).toMatch(/^sk_test_/);
  });
});

describe("a reader that goes away (keygate … | head)", () => {
  test("ends the command quietly with 141, as a Unix tool the closed pipe stopped: no EPIPE report", () => {
    const env = freshDb();
    keygate(["init"], env);
    for (const args of [
      ["keys", "list"],
      ["audit", "export"],
      ["entities", "list", "--json"],
    ]) {
      const { cmd, cwd } = keygateCommand(args);
      // The reader (`true`) is gone before the command starts writing: every write is EPIPE.
      const run = Bun.spawnSync(
        ["bash", "-c", '{ sleep 0.3; exec "$@"; } | true; echo "$PIPESTATUS"', "bash", ...cmd],
        { cwd, env: { ...process.env, KEYGATE_CONFIG: "", ...env } },
      );
      expect([args.join(" "), run.stdout.toString().trim(), run.stderr.toString()]).toEqual([
        args.join(" "),
        "141",
        "",
      ]);
    }
  });
});

describe("no raw secret is stored", () => {
  test("no secret (nor its random part beyond the display prefix) appears anywhere in the database files", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const entity = keygateJson<{ id: string }>(
      ["entities", "create", "--kind", "merchant", "--name", "Acme"],
      env,
    );
    const secret = keygateJson<{ id: string; secret: string }>(
      [
        "keys",
        "create",
        "--entity",
        entity.id,
        "--name",
        "k",
        "--scopes",
        "links:read",
        "--env",
        "live",
      ],
      env,
    );
    const pair = keygateJson<{ id: string; secret: string; public_key: string }>(
      [
        "keys",
        "create",
        "--entity",
        entity.id,
        "--name",
        "p",
        "--scopes",
        "links:read",
        "--kind",
        "pair",
      ],
      env,
    );
    const rotated = keygateJson<{ secret: string }>(
      ["keys", "rotate", secret.id, "--expire-previous-in", "60"],
      env,
    );
    const password = "a very private passphrase";
    keygateJson(
      ["users", "create", "--email", "a@b.co", "--entity", entity.id, "--password", password],
      env,
    );

    const files = ["", "-wal", "-shm"].map((s) => `${env.KEYGATE_DB}${s}`).filter(existsSync);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(bytes.length).toBeGreaterThan(0);
    const secrets = [
      init.keys?.live,
      init.keys?.test,
      secret.secret,
      pair.secret,
      rotated.secret,
    ] as string[];
    for (const s of secrets) {
      expect(bytes.includes(Buffer.from(s))).toBe(false);
      expect(bytes.includes(Buffer.from(s.slice(16)))).toBe(false);
    }
    expect(bytes.includes(Buffer.from(password))).toBe(false);
    // The public key is an identifier, meant to be stored and logged.
    expect(bytes.includes(Buffer.from(pair.public_key))).toBe(true);
  });
});

describe("entities, keys and users commands", () => {
  test("a merchant's keys: create, list, rotate, revoke", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const partner = keygateJson<{ id: string }>(
      ["entities", "create", "--kind", "partner", "--name", "P"],
      env,
    );
    const merchant = keygateJson<{ id: string; parent_id: string; path: string[] }>(
      [
        "entities",
        "create",
        "--kind",
        "merchant",
        "--name",
        "M",
        "--parent",
        partner.id,
        "--reference",
        "M-1",
      ],
      env,
    );
    expect(merchant.parent_id).toBe(partner.id);
    expect(merchant.path.slice(-2)).toEqual([partner.id, merchant.id]);

    const key = keygateJson<{ id: string; secret: string; rate_limit: unknown; livemode: boolean }>(
      [
        "keys",
        "create",
        "--entity",
        merchant.id,
        "--name",
        "billing",
        "--scopes",
        "links:read,links:write",
        "--rate-limit",
        "60/1m",
        "--env",
        "live",
      ],
      env,
    );
    expect(key).toMatchObject({ rate_limit: { limit: 60, window_seconds: 60 }, livemode: true });
    const listed = keygateJson<{ data: Record<string, unknown>[] }>(
      ["keys", "list", "--entity", merchant.id],
      env,
    ).data;
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty("secret");
    expect(JSON.stringify(listed)).not.toContain(key.secret);

    const rotated = keygateJson<{ id: string; secret: string }>(["keys", "rotate", key.id], env);
    expect(rotated.id).toBe(key.id);
    expect(rotated.secret).not.toBe(key.secret);
    const revoked = keygateJson<{ status: string }>(
      ["keys", "revoke", key.id, "--reason", "test"],
      env,
    );
    expect(revoked.status).toBe("revoked");
    expect(keygateJson<{ status: string }>(["keys", "revoke", key.id], env).status).toBe("revoked");
    expect(
      keygateJson<{ data: unknown[] }>(["keys", "list", "--status", "revoked"], env).data,
    ).toHaveLength(1);

    const deactivated = keygateJson<{ active: boolean }>(
      ["entities", "deactivate", partner.id],
      env,
    );
    expect(deactivated.active).toBe(false);
    const children = keygateJson<{ data: { active: boolean }[] }>(
      ["entities", "list", "--parent", partner.id],
      env,
    ).data;
    expect(children.map((c) => c.active)).toEqual([false]);
    expect(
      keygateJson<{ active: boolean }>(["entities", "reactivate", partner.id], env).active,
    ).toBe(true);
  });

  test("text lines never carry a control character to the terminal, even one stored before they were refused", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    // Written past the decider, as a database from before the plain-text rule could hold it.
    const kg = testKeygate({ path: env.KEYGATE_DB });
    kg.store.appendToStream(
      "ent_old",
      [
        {
          type: "entity.created",
          data: {
            entity_id: "ent_old",
            kind: "merchant",
            name: "Old\u001b[2K\u202eshop",
            parent_id: init.entity_id,
            reference: null,
          },
        },
      ],
      { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR },
    );
    kg.close();
    const listed = keygate(["entities", "list"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("Old\\u{1b}[2K\\u{202e}shop");
    expect(listed.stdout.includes("\u001b") || listed.stdout.includes("\u202e")).toBe(false);
    // --json keeps the stored value: JSON escapes it itself.
    const json = keygate(["entities", "list", "--json"], env).stdout;
    expect(json).toContain("Old\\u001b[2K\u202eshop");
  });

  test("entities update renames an entity and sets or drops its reference", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const live = init.keys?.live as string;
    const shop = keygateJson<{ id: string }>(
      ["entities", "create", "--kind", "merchant", "--name", "Shop", "--reference", "M-1"],
      env,
    );
    keygateJson(
      ["entities", "create", "--kind", "merchant", "--name", "Other", "--reference", "M-2"],
      env,
    );
    const renamed = keygate(
      ["entities", "update", shop.id, "--name", "Shop & Co", "--reference", "M-9"],
      env,
    );
    expect([renamed.code, renamed.stdout]).toEqual([
      0,
      expect.stringMatching(/^Updated ent_\S+ +merchant +active +Shop & Co ref=M-9 /),
    ]);
    const again = keygate(["entities", "update", shop.id, "--name", "Shop & Co"], env);
    expect(again.stdout).toMatch(/^Unchanged /);
    expect(
      keygateJson<{ reference: string | null }>(
        ["entities", "update", shop.id, "--no-reference"],
        env,
      ).reference,
    ).toBeNull();
    for (const [args, code, message] of [
      [["entities", "update", shop.id, "--reference", "M-2"], 1, /already has reference "M-2"/],
      [["entities", "update", shop.id], 2, /needs --name, --reference or --no-reference/],
      [["entities", "update", shop.id, "--reference", "R", "--no-reference"], 2, /at most one/],
      [["entities", "update", "ent_missing", "--name", "x"], 1, /No such entity/],
      [["entities", "update", shop.id, "--name", "Shop\u001b[2J"], 1, /name must be plain text/],
      [["entities", "update", shop.id, "--reference", live], 1, /must not hold an API key/],
    ] as [string[], number, RegExp][]) {
      const result = keygate(args, env);
      expect([result.code, result.stderr]).toEqual([code, expect.stringMatching(message)]);
      expect(result.stderr).not.toContain(live);
    }
  });

  test("keys show and keys update: an operator raises a key's limit, renames it, narrows its scopes, and hands it back to the default", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const key = keygateJson<{ id: string; secret: string }>(
      ["keys", "create", "--entity", init.entity_id, "--name", "shop", "--scopes", "links:*"],
      env,
    );
    const shown = keygate(["keys", "show", key.id], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${key.id}  test  active`);
    expect(shown.stdout).toMatch(/rate limit: +100 per 1s \(the default\)/);
    expect(shown.stdout).toMatch(/last used at: +never/);
    expect(shown.stdout).not.toContain(key.secret);
    // `audit timeline --json` prints one event a line.
    const timelineLength = () =>
      keygate(["audit", "timeline", key.id, "--json"], env).stdout.trim().split("\n").length;
    const eventsBefore = timelineLength();

    const raised = keygate(
      ["keys", "update", key.id, "--rate-limit", "1000/1m", "--name", "shop (raised)"],
      env,
    );
    expect([raised.code, raised.stdout]).toEqual([0, expect.stringMatching(/^Updated key_/)]);
    expect(keygateJson(["keys", "show", key.id], env)).toMatchObject({
      name: "shop (raised)",
      rate_limit: { limit: 1000, window_seconds: 60 },
      scopes: ["links:*"],
    });
    expect(keygate(["keys", "show", key.id], env).stdout).toMatch(
      /rate limit: +1000 per 60s \(the key's own\)/,
    );
    expect(timelineLength()).toBe(eventsBefore + 1);

    // The same settings again append nothing, and say so.
    const again = keygate(["keys", "update", key.id, "--rate-limit", "1000/1m"], env);
    expect([again.code, again.stdout]).toEqual([0, expect.stringMatching(/^Unchanged key_/)]);
    expect(timelineLength()).toBe(eventsBefore + 1);

    const narrowed = keygateJson<{ scopes: string[]; rate_limit: unknown }>(
      ["keys", "update", key.id, "--scopes", "links:read", "--rate-limit", "default"],
      env,
    );
    expect(narrowed).toMatchObject({
      scopes: ["links:read"],
      rate_limit: { limit: 100, window_seconds: 1 },
    });
    expect(timelineLength()).toBe(eventsBefore + 2);

    for (const [args, code, message] of [
      [["keys", "update", key.id], 2, /needs at least one of --name, --scopes and --rate-limit/],
      [["keys", "update", key.id, "--rate-limit", "fast"], 2, /--rate-limit must look like/],
      [["keys", "update", key.id, "--scopes", "Links:Read"], 1, /"Links:Read" is not a scope/],
      [["keys", "update", "key_missing", "--name", "x"], 1, /No such API key: key_missing/],
      [["keys", "show", "key_missing"], 1, /No such API key: key_missing/],
      [["keys", "show"], 2, /expected exactly one key id/],
    ] as [string[], number, RegExp][]) {
      const result = keygate(args, env);
      expect([result.code, result.stderr]).toEqual([code, expect.stringMatching(message)]);
    }
    // --expires-at is read strictly: no 30 February rolled into March, no time without offset.
    const create = ["keys", "create", "--entity", init.entity_id, "--name", "x", "--scopes", "*"];
    for (const at of ["2030-02-30T00:00:00Z", "2030-01-01", "2030-01-01T00:00:00"]) {
      const result = keygate([...create, "--expires-at", at], env);
      expect([result.code, result.stderr]).toEqual([
        2,
        expect.stringContaining("--expires-at must be an ISO 8601 time with its offset"),
      ]);
    }
    const expiring = keygateJson<{ expires_at: string }>(
      [...create, "--expires-at", "2030-01-01T01:30:00+02:00"],
      env,
    );
    expect(expiring.expires_at).toBe("2029-12-31T23:30:00.000Z");
    keygateJson(["keys", "revoke", key.id], env);
    const revoked = keygate(["keys", "update", key.id, "--name", "late"], env);
    expect([revoked.code, revoked.stderr]).toEqual([
      1,
      expect.stringContaining("A revoked API key cannot be updated"),
    ]);
    expect(timelineLength()).toBe(eventsBefore + 3);
  });

  test("users create and set-password read the password from stdin and never print it back; users list", async () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const result = keygate(
      [
        "users",
        "create",
        "--email",
        "Ops@Example.com",
        "--entity",
        init.entity_id,
        "--password-stdin",
        "--json",
      ],
      env,
      "stdin secret passphrase\n",
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      object: "user",
      email: "ops@example.com",
      entity_id: init.entity_id,
    });
    expect(result.stdout).not.toContain("stdin secret");
    const user = JSON.parse(result.stdout) as { id: string };
    expect(keygateJson<{ data: { id: string }[] }>(["users", "list"], env).data).toEqual([
      expect.objectContaining({ id: user.id, email: "ops@example.com", active: true }),
    ]);
    const byEmail = keygate(["users", "list", "--email", "OPS@example.com"], env);
    expect(byEmail.stdout.trim()).toBe(
      `${user.id}  active    ops@example.com  entity=${init.entity_id}`,
    );
    const partner = keygateJson<{ id: string }>(
      ["entities", "create", "--kind", "partner", "--name", "P"],
      env,
    );
    expect(
      keygateJson<{ data: unknown[] }>(["users", "list", "--entity", partner.id], env).data,
    ).toEqual([]);
    expect(
      keygateJson<{ data: unknown[] }>(["users", "list", "--entity", init.entity_id], env).data,
    ).toHaveLength(1);
    const off = keygate(["users", "deactivate", user.id], env);
    expect([off.code, off.stdout.trim()]).toEqual([
      0,
      `Deactivated user ${user.id} <ops@example.com>`,
    ]);
    expect(keygateJson<{ active: boolean }>(["users", "reactivate", user.id], env).active).toBe(
      true,
    );
    const moved = keygate(["users", "set-email", user.id, "--email", "Ops.Lead@Example.com"], env);
    expect([moved.code, moved.stdout.trim()]).toEqual([
      0,
      `Changed the email of user ${user.id} from <ops@example.com> to <ops.lead@example.com>`,
    ]);
    const same = keygate(["users", "set-email", user.id, "--email", "ops.lead@example.com"], env);
    expect(same.stdout.trim()).toBe(
      `Unchanged: user ${user.id} already has <ops.lead@example.com>`,
    );
    const badEmail = keygate(["users", "set-email", user.id, "--email", "nope"], env);
    expect([badEmail.code, badEmail.stderr]).toEqual([1, expect.stringContaining("email")]);
    const missing = keygate(["users", "deactivate", "usr_missing"], env);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, "keygate: No such user."]);

    const storedHash = () =>
      withDb(env, (db) =>
        db
          .query<{ h: string }, [string]>("SELECT password_hash h FROM users WHERE id = ?")
          .get(user.id),
      )?.h as string;
    const before = storedHash();
    const reset = keygate(
      ["users", "set-password", user.id, "--password-stdin", "--json"],
      env,
      "a new stdin passphrase\n",
    );
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).password_changed_at).toMatch(/^\d{4}-/);
    expect(reset.stdout).not.toContain("a new stdin passphrase");
    expect(await verifyPassword("a new stdin passphrase", storedHash())).toBe(true);
    expect(storedHash()).not.toBe(before);
    const short = keygate(["users", "set-password", user.id, "--password", "short"], env);
    expect([short.code, short.stderr]).toEqual([1, expect.stringContaining("password must be")]);
  });

  test("bad input: clear message, exit 1, nothing written", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const cases: [string[], RegExp][] = [
      [
        ["keys", "create", "--entity", init.entity_id, "--name", "k", "--scopes", "links"],
        /"links" is not a scope.*scopes\[0\]/,
      ],
      [
        ["keys", "create", "--entity", init.entity_id, "--name", "k", "--scopes", "Links:Read"],
        /"Links:Read" is not a scope/,
      ],
      [
        ["keys", "create", "--entity", "ent_missing", "--name", "k", "--scopes", "links:read"],
        /No such entity: ent_missing/,
      ],
      [
        ["entities", "create", "--kind", "branch", "--name", "B"],
        /branch must sit under a merchant/,
      ],
      [["entities", "deactivate", "ent_missing"], /No such entity/],
      // A list filtered by an entity that does not exist says so, rather than listing nothing.
      [["keys", "list", "--entity", "ent_typo"], /No such entity: ent_typo\./],
      [["users", "list", "--entity", "ent_typo"], /No such entity: ent_typo\./],
      [["entities", "list", "--parent", "ent_typo"], /No such entity: ent_typo\./],
      [
        ["users", "create", "--email", "x@y.co", "--entity", init.entity_id, "--password", "short"],
        /password must be/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = keygate(args, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    expect(keygateJson<{ data: unknown[] }>(["entities", "list"], env).data).toHaveLength(1);
  });

  test("a revoked key cannot be rotated (exit 1); --json errors use the envelope", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const id = keygateJson<{ data: { id: string }[] }>(["keys", "list"], env).data[0]?.id as string;
    keygateJson(["keys", "revoke", id], env);
    const result = keygate(["keys", "rotate", id, "--json"], env);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        type: "invalid_request",
        code: "invalid_request",
        message: "A revoked API key cannot be rotated.",
      },
    });
  });

  test("bad usage exits 2 with the usage text: the command's own lines, or all of it for an unknown command", () => {
    const env = freshDb();
    const unknown = keygate(["frobnicate"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Usage: keygate <command> [options]");
    expect(unknown.stderr).toContain("  keys create --entity");
    expect(unknown.stderr).toContain("  audit verify");
    for (const [args, own, other] of [
      [["keys", "create", "--bogus"], "  keys create --entity", "  entities create"],
      [["keys", "rotate"], "  keys rotate KEY_ID", "  users create"],
      [["keys", "create", "--env", "prod"], "  keys create --entity", "  audit verify"],
      [["init", "--force"], "  init [--json]", "  keys create"],
      [["entities", "create"], "  entities create --kind", "  keys create"],
      [["serve", "--port", "1"], "  serve ", "  keys create"],
    ] as const) {
      const result = keygate([...args], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(own);
      expect(result.stderr).not.toContain(other);
      expect(result.stderr).toContain("Every command and the environment it reads: keygate help");
    }
    const help = keygate(["keys", "--help"], env);
    expect([help.code, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toContain("  keys revoke KEY_ID");
    expect(help.stdout).not.toContain("  users create");
  });

  test("an option unknown, without its value, with a value it does not take or given twice: exit 2 saying which, nothing done", () => {
    const env = freshDb();
    const { entity_id } = keygateJson<{ entity_id: string }>(["init"], env);
    for (const [args, said] of [
      [
        ["keys", "list", "--limit", "5"],
        "unknown option --limit; this command takes --entity, --status, --json",
      ],
      [["keys", "create", "--entity"], "--entity needs a value"],
      [
        ["keys", "create", "--entity", entity_id, "--name", "--json", "--scopes", "a:read"],
        "--name needs a value; write one that starts with a dash as --name=-…",
      ],
      [["keys", "list", "--json=yes"], "--json takes no value"],
      [
        [
          "keys",
          "create",
          "--entity",
          entity_id,
          "--entity",
          entity_id,
          "--name",
          "k",
          "--scopes",
          "a:read",
        ],
        "--entity is given twice; give it once",
      ],
    ] as const) {
      const result = keygate([...args], env);
      expect([result.code, result.stderr.split("\n")[0]]).toEqual([2, `keygate: ${said}`]);
    }
    expect(keygateJson(["keys", "list"], env).data).toHaveLength(2);
  });

  test("a bad config file stops the command with a message naming the field", () => {
    const path = join(tmp.dir, "bad.json");
    writeFileSync(path, JSON.stringify({ keys: { secret_prefix: 7 } }));
    const result = keygate(["init"], { ...freshDb(), KEYGATE_CONFIG: path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /bad configuration: KEYGATE_CONFIG .*bad.json: keys.secret_prefix: Expected string/,
    );
  });

  test("a new database, its new directory and a backup are its owner's alone, whatever the umask", () => {
    const dir = join(tmp.dir, "private", "data");
    const env = { KEYGATE_DB: join(dir, "keygate.sqlite") };
    keygateJson(["init"], env);
    const backup = join(tmp.dir, "private", "backup.sqlite");
    expect(keygate(["backup", backup], env).code).toBe(0);
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(dir)).toBe(0o700);
    expect(mode(env.KEYGATE_DB)).toBe(0o600);
    expect(mode(backup)).toBe(0o600);
    // A backup never overwrites: the file it would write exists.
    expect(keygate(["backup", backup], env).code).toBe(1);
  });

  test("a backup into a directory that does not exist: one clear line, no stack", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const target = join(tmp.dir, "no-such-dir", "backup.sqlite");
    const result = keygate(["backup", target], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith(`keygate: cannot create ${target}: ENOENT`);
    expect(result.stderr).not.toContain("    at ");
    expect(existsSync(target)).toBe(false);
  });

  test("a backup that fails while writing (here: past a file-size limit) keeps nothing, and says so in one line", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const target = join(tmp.dir, `too-big-${n++}.sqlite`);
    // The database is well over 64 KiB; the copy may not grow past it.
    const result = keygateWithFileSizeLimit(64, ["backup", target], env);
    const stderr = result.stderr.toString();
    expect(result.exitCode).toBe(1);
    expect(stderr).toStartWith("keygate: the backup failed (");
    expect(stderr).toContain(`nothing was kept at ${target}`);
    expect(stderr).not.toContain("    at ");
    // Nothing that could pass for a backup is left, and the same path works once it can.
    expect(existsSync(target)).toBe(false);
    expect(keygate(["backup", target], env).code).toBe(0);
  });

  test("a change the disk has no room for: exit 1, the message says nothing changed and names the cause, nothing is written", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const entity = keygateJson<{ data: { id: string }[] }>(["entities", "list"], env).data[0]?.id;
    const count = (table: string) =>
      withDb(env, (db) => db.query(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const before = { events: count("events"), keys: count("api_keys") };
    const create = [
      "keys",
      "create",
      "--entity",
      String(entity),
      "--name",
      "no room",
      "--scopes",
      "links:read",
    ];
    // Room for the shared-memory index (32 KiB), none for the write-ahead log's frames.
    const human = keygateWithFileSizeLimit(36, create, env);
    expect(human.exitCode).toBe(1);
    // EFBIG is an I/O error to SQLite; ENOSPC, a real full disk, would be "database or disk is full".
    expect(human.stderr.toString()).toMatch(
      /^keygate: The change could not be saved, so nothing was changed; it is safe to retry\.\n {2}cause: disk I\/O error\n$/,
    );
    const json = keygateWithFileSizeLimit(36, [...create, "--json"], env);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stderr.toString()).error).toMatchObject({
      type: "api_error",
      message: "The change could not be saved, so nothing was changed; it is safe to retry.",
    });
    expect({ events: count("events"), keys: count("api_keys") }).toEqual(before);
    // With room again, the same command creates the key.
    expect(keygate(create, env).code).toBe(0);
    expect(count("api_keys")).toBe(before.keys + 1);
  });

  test("a key given where an id belongs is shown masked in the error, never whole", () => {
    const env = freshDb();
    const secret = keygateJson<InitJson>(["init"], env).keys?.live as string;
    const masked = `sk_live_••••${secret.slice(-4)}`;
    for (const args of [
      ["keys", "rotate", secret],
      ["keys", "rotate", secret, "--json"],
      ["audit", "timeline", secret],
    ]) {
      const result = keygate(args, env);
      expect(result.code).toBe(1);
      expect(result.stderr).not.toContain(secret);
      expect(result.stderr).toContain(masked);
    }
  });

  test("a command refused for its arguments creates no database and no key files", () => {
    const env = freshDb();
    for (const args of [
      ["keys", "list", "--bad"],
      ["keys", "frobnicate"],
      ["entities", "create", "--kind", "galaxy", "--name", "x"],
      ["keys", "create", "--entity", "ent_x", "--name", "n", "--scopes", "a:b", "--env", "prod"],
      ["audit", "verify", "--db", "elsewhere.sqlite"],
      ["init", "--force"],
    ]) {
      const result = keygate(args, env);
      expect(result.code).toBe(2);
      expect(existsSync(dirname(env.KEYGATE_DB))).toBe(false);
    }
  });

  test("serve refuses arguments (its settings are environment variables) before it listens", () => {
    const env = freshDb();
    const result = keygate(["serve", "--port", "4000"], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('serve takes no arguments, got "--port"');
    expect(result.stderr).toContain("KEYGATE_PORT");
    expect(existsSync(env.KEYGATE_DB)).toBe(false);
  });

  test("a database path that is not a SQLite database stops the command with one clear line", () => {
    const notDb = join(tmp.dir, "notes.txt");
    writeFileSync(notDb, "these are not the pages you are looking for\n".repeat(200));
    for (const path of [notDb, tmp.dir]) {
      const result = keygate(["keys", "list"], { KEYGATE_DB: path });
      expect(result.code).toBe(1);
      expect(result.stderr).toStartWith(`keygate: cannot open the database ${path}: `);
      expect(result.stderr).not.toContain("    at ");
    }
    expect(readFileSync(notDb, "utf8")).toStartWith("these are not the pages");
  });

  test("a database a newer Keygate migrated is refused, not run on a schema this version does not know", () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const create = ["keys", "create", "--entity", init.entity_id, "--name", "k", "--scopes", "*"];
    const db = new Database(env.KEYGATE_DB);
    const head = () => db.query("SELECT count(*) AS n FROM events").get() as { n: number };
    const before = head().n;
    // What a newer release's migration leaves behind: its bookkeeping row, dated later.
    db.run(
      "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-the-future', 4102444800000)",
    );
    const result = keygate(create, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith(`keygate: cannot open the database ${env.KEYGATE_DB}: `);
    expect(result.stderr).toContain("migrated by a newer Keygate");
    expect(result.stderr).toContain("2100-01-01T00:00:00.000Z");
    expect(head().n).toBe(before);
    db.run("DELETE FROM __drizzle_migrations WHERE hash = 'from-the-future'");
    expect(keygate(create, env).code).toBe(0);
    expect(head().n).toBe(before + 1);
    db.close();
  });

  test("a configured prefix shapes every key", () => {
    const path = join(tmp.dir, "ck.json");
    writeFileSync(path, JSON.stringify({ keys: { secret_prefix: "ck" } }));
    const init = keygateJson<InitJson>(["init"], { ...freshDb(), KEYGATE_CONFIG: path });
    expect(init.keys?.live).toMatch(/^ck_live_/);
  });
});

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
    const path = join(tmp.dir, "shadowed-head.json");
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
    expect(
      keygate(["config", "check"], { ...env, KEYGATE_CONFIG: "", KEYGATE_PORT: "x" }).code,
    ).toBe(1);
    expect(keygate(["config", "frobnicate"], env).code).toBe(2);
    expect(existsSync(dirname(env.KEYGATE_DB))).toBe(false);
  });

  test("TLS files are read and matched: a key of another certificate, or a file that is not there, is refused", () => {
    const dir = join(tmp.dir, "config-tls");
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

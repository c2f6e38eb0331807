/**
 * The `keygate` command run as a process, as an operator runs it: init, the entity, key and
 * user commands and what they print, a reader that goes away, no raw secret in the database.
 * Refusals and failures are in cli-refusals.test.ts, `config check` in config-check.test.ts.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { STREAM_DOES_NOT_EXIST } from "../../src/store/expected-version.ts";
import { verifyPassword } from "../../src/users/password.ts";
import { cliDatabases, type InitJson, keygateWithFileSizeLimit, withDb } from "../support/cli.ts";
import { givenUser, TEST_ACTOR, testKeygate } from "../support/keygate.ts";
import { keygate, keygateJson, ROOT } from "../support/spawn.ts";
import { keygateCommand } from "../support/target.ts";

// Each test runs the CLI as a process, up to twenty times: on a loaded machine that can take
// longer than bun's default 5 s.
setDefaultTimeout(30_000);

const { dir: scratch, freshDb } = cliDatabases();

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

  test("where HTTP Basic is the only key scheme (VoltzPay), the platform keys and a key made without --kind are pairs", () => {
    const env = { ...freshDb(), KEYGATE_CONFIG: join(ROOT, "presets", "voltzpay.json") };
    const init = keygateJson<InitJson>(["init"], env);
    expect(Object.keys(init).sort()).toEqual(["entity_id", "keys", "public_keys"]);
    expect(init.public_keys?.live).toMatch(/^pk_live_[0-9A-Za-z]{32}$/);
    expect(init.public_keys?.test).toMatch(/^pk_test_[0-9A-Za-z]{32}$/);
    expect(init.keys?.live).toMatch(/^sk_live_[0-9A-Za-z]{32}$/);
    const made = keygateJson<{ kind: string; public_key: string }>(
      ["keys", "create", "--entity", init.entity_id, "--name", "k", "--scopes", "orders:read"],
      env,
    );
    expect(made.kind).toBe("pair");
    expect(made.public_key).toMatch(/^pk_test_/);

    const human = keygate(["init"], { ...env, ...freshDb() });
    expect(human.stdout).toMatch(/two platform key pairs/);
    expect(human.stdout).toMatch(/ {2}live: pk_live_[0-9A-Za-z]{32}:sk_live_[0-9A-Za-z]{32}\n/);
    expect(human.stdout).toMatch(/ {2}test: pk_test_[0-9A-Za-z]{32}:sk_test_[0-9A-Za-z]{32}\n/);
  });

  test("init with no room for its commit: exit 1, the message says nothing changed, no platform is half made", () => {
    const env = freshDb();
    // Migrated first, so that what meets the full disk is init's own transaction.
    testKeygate({ path: env.KEYGATE_DB }).close();
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

describe("listings of every row", () => {
  test("keys, users and entities list print every row once, in id order, across pages, as lines or as the API's list", async () => {
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], env);
    const kg = testKeygate({ path: env.KEYGATE_DB });
    try {
      // Past two page boundaries (a page is 500 rows).
      for (let i = 0; i < 1_100; i++)
        createApiKey(
          kg,
          { entityId: init.entity_id, environment: "test", name: `k${i}`, scopes: ["links:read"] },
          TEST_ACTOR,
        );
      for (let i = 0; i < 505; i++)
        createEntity(
          kg,
          { kind: "merchant", name: `m${i}`, parentId: init.entity_id, reference: null },
          TEST_ACTOR,
        );
      for (let i = 0; i < 510; i++)
        await givenUser(kg, {
          email: `u${i}@example.com`,
          password: "long enough password",
          entityId: init.entity_id,
        });
    } finally {
      kg.close();
    }
    for (const [command, count] of [
      ["keys", 1_102],
      ["users", 510],
      ["entities", 506],
    ] as const) {
      const listed = keygateJson<{ object: string; data: { id: string }[]; has_more: boolean }>(
        [command, "list"],
        env,
      );
      expect([listed.object, listed.has_more, listed.data.length]).toEqual(["list", false, count]);
      const ids = listed.data.map((row) => row.id);
      expect(ids).toEqual([...new Set(ids)].sort());
      const lines = keygate([command, "list"], env).stdout.trimEnd().split("\n");
      expect(lines.map((line) => line.split(" ")[0])).toEqual(ids);
    }
    const none = keygateJson<object>(["keys", "list", "--status", "revoked"], env);
    expect(none).toEqual({ object: "list", data: [], has_more: false });
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
    // A file of two lines piped in: its line break could never be typed to sign in. A CRLF
    // ending is the line's end, as a lone LF is.
    const twoLines = keygate(
      ["users", "set-password", user.id, "--password-stdin"],
      env,
      "first line of a file\nsecond line\n",
    );
    expect([twoLines.code, twoLines.stderr]).toEqual([
      1,
      expect.stringContaining("password holds the control character U+000A"),
    ]);
    expect(await verifyPassword("a new stdin passphrase", storedHash())).toBe(true);
    const crlf = keygate(
      ["users", "set-password", user.id, "--password-stdin"],
      env,
      "typed on windows\r\n",
    );
    expect(crlf.code).toBe(0);
    expect(await verifyPassword("typed on windows", storedHash())).toBe(true);
  });

  test("a configured prefix shapes every key", () => {
    const path = join(scratch, "ck.json");
    writeFileSync(path, JSON.stringify({ keys: { secret_prefix: "ck" } }));
    const init = keygateJson<InitJson>(["init"], { ...freshDb(), KEYGATE_CONFIG: path });
    expect(init.keys?.live).toMatch(/^ck_live_/);
  });
});

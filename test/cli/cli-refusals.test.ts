/**
 * The `keygate` command refusing what it must (bad input, bad usage, a bad config file or
 * database, a key where an id belongs) and failing safely (a full disk, a backup cut short):
 * a clear message, the right exit code, and nothing written that should not be.
 */
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cliDatabases, type InitJson, keygateWithFileSizeLimit, withDb } from "../support/cli.ts";
import { keygate, keygateJson } from "../support/spawn.ts";

// Each test runs the CLI as a process, up to twenty times: on a loaded machine that can take
// longer than bun's default 5 s.
setDefaultTimeout(30_000);

const { dir: scratch, freshDb } = cliDatabases();

describe("refusals and failures", () => {
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
    const path = join(scratch, "bad.json");
    writeFileSync(path, JSON.stringify({ keys: { secret_prefix: 7 } }));
    const result = keygate(["init"], { ...freshDb(), KEYGATE_CONFIG: path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /bad configuration: KEYGATE_CONFIG .*bad.json: keys.secret_prefix: Expected string/,
    );
  });

  test("a new database, its new directory and a backup are its owner's alone, whatever the umask", () => {
    const dir = join(scratch, "private", "data");
    const env = { KEYGATE_DB: join(dir, "keygate.sqlite") };
    keygateJson(["init"], env);
    const backup = join(scratch, "private", "backup.sqlite");
    expect(keygate(["backup", backup], env).code).toBe(0);
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(dir)).toBe(0o700);
    expect(mode(env.KEYGATE_DB)).toBe(0o600);
    expect(mode(backup)).toBe(0o600);
    // A backup never overwrites: the file it would write exists.
    expect(keygate(["backup", backup], env).code).toBe(1);
  });

  test("a backup names the key files it does not hold, but those a variable gives instead", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const dir = dirname(env.KEYGATE_DB);
    const given = {
      ...env,
      KEYGATE_RESULTS_KEY: "d".repeat(64),
      KEYGATE_JWT_SECRET: "j".repeat(40),
    };
    const result = keygate(["backup", join(dir, "backup.sqlite")], given);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[1]).toBe(
      `not in the copy: ${join(dir, "keygate-checkpoint.key")} — back them up with it, apart and encrypted (docs/deploy.md)`,
    );
  });

  test("a backup into a directory that does not exist: one clear line, no stack", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const target = join(scratch, "no-such-dir", "backup.sqlite");
    const result = keygate(["backup", target], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith(`keygate: cannot create ${target}: ENOENT`);
    expect(result.stderr).not.toContain("    at ");
    expect(existsSync(target)).toBe(false);
  });

  test("a backup that fails while writing (here: past a file-size limit) keeps nothing, and says so in one line", () => {
    const env = freshDb();
    keygateJson(["init"], env);
    const target = join(scratch, "too-big.sqlite");
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

  test("an argument a command does not take is bad usage, not dropped: keys list ent_… does not list every key", () => {
    const env = freshDb();
    for (const args of [
      ["keys", "list", "ent_forgot_the_flag"],
      ["entities", "list", "ent_x"],
      ["users", "list", "someone@example.com"],
      ["init", "now"],
      ["rebuild", "everything"],
      ["audit", "replay", "now"],
      ["config", "check", "strict"],
      ["keys", "revoke", "key_a", "key_b"],
    ]) {
      const result = keygate(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toMatch(
        /^keygate: (unexpected argument "[^"]+": this command takes only the flags below|expected exactly one key id, got 2)$/,
      );
      expect(existsSync(dirname(env.KEYGATE_DB))).toBe(false);
    }
  });

  test("an empty argument or flag value (an unset shell variable) is bad usage: not a lookup, and not a flag left out", () => {
    const env = freshDb();
    const refusals: [string[], string][] = [
      [["keys", "revoke", ""], "the key id is empty"],
      [["keys", "rotate", "  "], "the key id is empty"],
      [["audit", "timeline", ""], "the key id is empty"],
      [["backup", ""], "the backup file path is empty"],
      // Read as left out, these exported the whole log and listed every key.
      [["audit", "export", "--stream", ""], "--stream is empty: give it a value, or leave it out"],
      [["audit", "export", "--after", " "], "--after is empty: give it a value, or leave it out"],
      [["keys", "list", "--entity", ""], "--entity is empty: give it a value, or leave it out"],
      [["keys", "create", "--entity="], "--entity is empty: give it a value, or leave it out"],
    ];
    for (const [args, message] of refusals) {
      const result = keygate(args, env);
      expect([args, result.code, result.stderr.split("\n")[0]]).toEqual([
        args,
        2,
        `keygate: ${message}`,
      ]);
      expect(result.stdout).toBe("");
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
    const notDb = join(scratch, "notes.txt");
    writeFileSync(notDb, "these are not the pages you are looking for\n".repeat(200));
    for (const path of [notDb, scratch]) {
      const result = keygate(["keys", "list"], { KEYGATE_DB: path });
      expect(result.code).toBe(1);
      expect(result.stderr).toStartWith(`keygate: cannot open the database ${path}: `);
      expect(result.stderr).not.toContain("    at ");
    }
    expect(readFileSync(notDb, "utf8")).toStartWith("these are not the pages");
  });

  test("a database that is not there, or empty, is made by init and serve only: every other command is refused, makes nothing, and never reports an empty log as intact", () => {
    const missing = freshDb();
    const emptyFile = join(scratch, "empty", "keygate.sqlite");
    mkdirSync(dirname(emptyFile));
    writeFileSync(emptyFile, "");
    const commands = [
      ["audit", "verify"],
      ["audit", "replay"],
      ["audit", "export"],
      ["keys", "list"],
      ["entities", "list"],
      ["rebuild"],
      ["backup", join(scratch, "copy.sqlite")],
    ];
    for (const path of [missing.KEYGATE_DB, emptyFile])
      for (const args of commands) {
        const result = keygate(args, { KEYGATE_DB: path });
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`cannot open the database ${path}: `);
        expect(result.stderr).toContain("check KEYGATE_DB");
      }
    // Nothing made: no database, no folder, no key file; the empty file is still empty.
    expect(existsSync(dirname(missing.KEYGATE_DB))).toBe(false);
    expect(readdirSync(dirname(emptyFile))).toEqual(["keygate.sqlite"]);
    expect(statSync(emptyFile).size).toBe(0);
    expect(existsSync(join(scratch, "copy.sqlite"))).toBe(false);
    // init makes a database in either place, and the commands then work on it.
    for (const path of [missing.KEYGATE_DB, emptyFile]) {
      expect(keygateJson<InitJson>(["init"], { KEYGATE_DB: path }).keys?.live).toMatch(/^sk_live_/);
      const verify = keygate(["audit", "verify"], { KEYGATE_DB: path });
      expect(verify.code).toBe(0);
      expect(verify.stdout).toStartWith("intact: 3 events");
    }
  });

  test("another application's SQLite database is refused by every command, serve included, and left byte for byte as it was", () => {
    const path = join(scratch, "shop", "shop.sqlite");
    mkdirSync(dirname(path));
    const shop = new Database(path);
    shop.run("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    shop.run("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)");
    shop.run("INSERT INTO customers (name) VALUES ('alice')");
    shop.close();
    const before = readFileSync(path);
    for (const args of [["init"], ["serve"], ["keys", "list"], ["config", "check", "--database"]]) {
      const result = keygate(args, { KEYGATE_DB: path, KEYGATE_PORT: "0" });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `keygate: cannot open the database ${path}: it is another application's database (its tables: customers, orders), and Keygate writes into no database but its own; point KEYGATE_DB at Keygate's database, or at a new file\n`,
      );
    }
    expect(readFileSync(path).equals(before)).toBe(true);
    // No write-ahead log was started in it, and no key file was left beside it.
    expect(readdirSync(dirname(path))).toEqual(["shop.sqlite"]);
  });

  test("tables an operator added beside Keygate's are no obstacle: the database is still Keygate's", () => {
    const env = freshDb();
    keygateJson<InitJson>(["init"], env);
    const db = new Database(env.KEYGATE_DB);
    db.run("CREATE TABLE operator_notes (note TEXT)");
    db.close();
    const verify = keygate(["audit", "verify"], env);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toStartWith("intact: 3 events");
  });

  test("a shell without the database's KEYGATE_PEPPER cannot create or rotate a key (it would work nowhere), but can revoke one", () => {
    const pepper = { KEYGATE_PEPPER: "the-pepper-the-server-runs-with-1" };
    const env = freshDb();
    const init = keygateJson<InitJson>(["init"], { ...env, ...pepper });
    const keys = keygateJson<{ data: { id: string }[] }>(["keys", "list"], env).data;
    const head = () => withDb(env, (db) => db.query("SELECT count(*) AS n FROM events").get());
    const before = head();
    const create = ["keys", "create", "--entity", init.entity_id, "--name", "k", "--scopes", "*"];
    for (const args of [create, ["keys", "rotate", keys[0]?.id as string]]) {
      const result = keygate(args, env);
      expect(result.code).toBe(1);
      expect(result.stderr).toStartWith(
        "keygate: bad configuration: KEYGATE_PEPPER is not set, but this database's keys are hashed with a pepper (recorded ",
      );
    }
    expect(head()).toEqual(before);
    expect(keygate(["keys", "revoke", keys[1]?.id as string], env).code).toBe(0);
    expect(keygate(create, { ...env, ...pepper }).code).toBe(0);
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
});

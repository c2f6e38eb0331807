/** `keygate version` on the target under test: the sources on Bun or Deno, or the binary. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { keygate } from "../support/spawn.ts";
import { E2E_TARGET, ROOT } from "../support/target.ts";

const tmp = tempDir();
afterAll(tmp.remove);

test("version names package.json's version and the runtime, reading no configuration and opening no database", () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const runtime = E2E_TARGET === "deno" ? "deno" : "bun";
  const env = { KEYGATE_DB: join(tmp.dir, "never", "k.sqlite"), KEYGATE_CONFIG: "/nowhere.json" };
  for (const args of [["version"], ["--version"], ["-V"]]) {
    const run = keygate(args, env);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toMatch(
      new RegExp(`^keygate ${version} \\(${runtime} \\d+\\.\\d+\\.\\d+\\)\\n$`),
    );
  }
  const json = keygate(["version", "--json"], env);
  expect(JSON.parse(json.stdout)).toMatchObject({ version, runtime });
  const extra = keygate(["version", "now"], env);
  expect([extra.code, extra.stderr.split("\n")[0]]).toEqual([
    2,
    'keygate: unexpected argument "now": this command takes only the flags below',
  ]);
  expect(existsSync(join(tmp.dir, "never"))).toBe(false);
});

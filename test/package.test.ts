/**
 * Keygate as the package an app installs (`bun add git+…/keygate.git`): its name imports the
 * plugin API, its `bin` runs the CLI from another directory, and what `files` keeps holds both.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { tempDir } from "./support/keygate.ts";
import { ROOT } from "./support/spawn.ts";

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, string>;
  files: string[];
};

describe("the package", () => {
  test('its name imports the plugin API: import { keygate } from "keygate"', async () => {
    const imported = await import(manifest.name);
    const plugin = await import("../src/plugin.ts");
    expect(Object.keys(imported).sort()).toEqual(Object.keys(plugin).sort());
    for (const name of ["keygate", "openKeygate", "loadConfig", "startBackgroundWork"])
      expect(imported[name]).toBe(plugin[name as keyof typeof plugin]);
  });

  test("its bin runs the keygate command from the app's directory, on the app's database", () => {
    const bin = join(ROOT, manifest.bin.keygate as string);
    expect(readFileSync(bin, "utf8")).toStartWith("#!/usr/bin/env bun\n");
    const app = tempDir();
    try {
      const run = Bun.spawnSync(["bun", bin, "init", "--json"], {
        cwd: app.dir,
        env: { ...process.env, KEYGATE_DB: "data/keygate.sqlite", KEYGATE_CONFIG: "" },
      });
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout.toString()).entity_id).toStartWith("ent_");
      expect(existsSync(join(app.dir, "data", "keygate.sqlite"))).toBe(true);
    } finally {
      app.remove();
    }
  });

  test("what files keeps holds its entry point and its bin", () => {
    const kept = (path: string) =>
      manifest.files.some((entry) => !relative(entry, path).startsWith(".."));
    for (const entry of [...Object.values(manifest.exports), ...Object.values(manifest.bin)]) {
      expect(existsSync(join(ROOT, entry))).toBe(true);
      expect(kept(relative(".", entry))).toBe(true);
    }
    for (const entry of manifest.files) expect(existsSync(join(ROOT, entry))).toBe(true);
  });
});

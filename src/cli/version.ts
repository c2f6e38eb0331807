/**
 * `keygate version` (also `--version`, `-V`): which Keygate this is and what runs it, for an
 * operator checking a deployment before and after an upgrade (docs/deploy.md). The version is
 * package.json's, read at build time: the compiled binary carries it.
 */
import packageJson from "../../package.json" with { type: "json" };
import { parseCommandArgs } from "./args.ts";
import { printJson } from "./output.ts";

/** The usage line of the command. */
export const VERSION_USAGE = `  version [--json]           this Keygate's version and the runtime it runs on`;

/** What runs this process: Bun, or Deno running the same sources. */
function runtime(): { name: "bun" | "deno"; version: string } {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  if (deno) return { name: "deno", version: deno.version.deno };
  return { name: "bun", version: Bun.version };
}

/** Prints `keygate 0.1.0 (bun 1.4.5)`, or with `--json` `{"version","runtime","runtime_version"}`. */
export function runVersion(argv: string[]): void {
  const { values } = parseCommandArgs(argv, {});
  const { name, version } = runtime();
  if (values.json === true)
    printJson({ version: packageJson.version, runtime: name, runtime_version: version });
  else process.stdout.write(`keygate ${packageJson.version} (${name} ${version})\n`);
}

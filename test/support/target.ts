/**
 * Which build of Keygate the black-box tests run, chosen by one switch,
 * `KEYGATE_E2E_TARGET`: `bun` (default: the sources, as the README starts them), `deno` (the
 * same sources on Deno, `deno run -A src/cli/main.ts`) or `binary` (`dist/keygate` from
 * `bun run build`, run from a directory holding nothing else).
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The repository root (where package.json is). */
export const ROOT = join(import.meta.dir, "..", "..");

/** The target under test. */
export const E2E_TARGET = process.env.KEYGATE_E2E_TARGET ?? "bun";

/** How to run `keygate <args>` on the target, and from where. */
export function keygateCommand(args: readonly string[]): { cmd: string[]; cwd: string } {
  switch (E2E_TARGET) {
    case "bun":
      return { cmd: ["bun", "src/cli/main.ts", ...args], cwd: ROOT };
    case "deno":
      return { cmd: ["deno", "run", "-A", "src/cli/main.ts", ...args], cwd: ROOT };
    case "binary": {
      const binary = join(ROOT, "dist", "keygate");
      if (!existsSync(binary))
        throw new Error("dist/keygate is missing: run `bun run build` first");
      return { cmd: [binary, ...args], cwd: emptyDirectory() };
    }
    default:
      throw new Error(`KEYGATE_E2E_TARGET must be bun, deno or binary, not "${E2E_TARGET}"`);
  }
}

/**
 * The directory the binary runs from. It holds nothing, as every command is given its files'
 * paths, so one fixed directory serves every run instead of a new one left behind per command.
 */
function emptyDirectory(): string {
  const directory = join(tmpdir(), "keygate-binary-cwd");
  mkdirSync(directory, { recursive: true });
  return directory;
}

/** How to start the server on the target: the README's `bun run keygate serve` on Bun. */
export function serveCommand(): { cmd: string[]; cwd: string } {
  return E2E_TARGET === "bun"
    ? { cmd: ["bun", "run", "keygate", "serve"], cwd: ROOT }
    : keygateCommand(["serve"]);
}

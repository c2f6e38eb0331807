/**
 * A real Caddy (Debian's package; `.ci/install-proxies` installs it) running
 * `docs/forward-auth/Caddyfile` in front of an upstream, with Keygate answering its
 * `forward_auth`. Everything it writes stays in a temporary directory.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./port.ts";
import { ROOT } from "./spawn.ts";

/** Where Caddy is looked for. */
const CANDIDATES = ["/usr/bin/caddy", "/usr/local/bin/caddy"];

/** The caddy binary, or a failure that says how to get one. */
export function caddyBinary(): string {
  const found = CANDIDATES.find((path) => existsSync(path)) ?? Bun.which("caddy");
  if (!found)
    throw new Error(
      "caddy is not installed: run `bash .ci/install-proxies` (Debian: apt-get install caddy)",
    );
  return found;
}

/** A running Caddy: its base URL and stop(). */
export interface RunningCaddy {
  url: string;
  stop(): Promise<void>;
  process: Subprocess;
}

/**
 * Starts Caddy under `dir` with the documented site block, filled in, behind global options
 * a test needs: no admin endpoint (two runs would share its port), no automatic HTTPS, and
 * its storage (`HOME`, `XDG_*`) inside `dir`.
 */
export async function startCaddy(
  dir: string,
  site: { keygate: string; upstream: string },
): Promise<RunningCaddy> {
  mkdirSync(dir, { recursive: true });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const siteBlock = readFileSync(join(ROOT, "docs", "forward-auth", "Caddyfile"), "utf8")
    .replaceAll("__SITE__", url)
    .replaceAll("__KEYGATE__", site.keygate)
    .replaceAll("__UPSTREAM__", site.upstream);
  const caddyfile = join(dir, "Caddyfile");
  writeFileSync(caddyfile, `{\n\tadmin off\n\tauto_https off\n}\n\n${siteBlock}`);
  const log = join(dir, "caddy.log");
  const child = Bun.spawn([caddyBinary(), "run", "--config", caddyfile, "--adapter", "caddyfile"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, "config"),
      XDG_DATA_HOME: join(dir, "data"),
    },
    stdout: "ignore",
    // A file, not a pipe: a pipe nobody reads would stop Caddy once full.
    stderr: Bun.file(log),
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited: ${readFileSync(log, "utf8")}`);
    try {
      await fetch(`${url}/`, { method: "HEAD" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("caddy did not start");
      await Bun.sleep(20);
    }
  }
  return {
    url,
    process: child,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

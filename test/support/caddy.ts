/**
 * A real Caddy (Debian's package; `.ci/install-proxies` installs it) running
 * `docs/forward-auth/Caddyfile` in front of an upstream, with Keygate answering its
 * `forward_auth`. Everything it writes stays in a temporary directory.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answeringProxy, freePort, proxyBinary, type RunningProxy } from "./proxy-process.ts";
import { ROOT } from "./spawn.ts";

/** The caddy binary, or a failure that says how to get one. */
export const caddyBinary = () =>
  proxyBinary("caddy", ["/usr/bin/caddy", "/usr/local/bin/caddy"], "caddy");

/**
 * Starts Caddy under `dir` with the documented site block, filled in, behind global options
 * a test needs: no admin endpoint (two runs would share its port), no automatic HTTPS, and
 * its storage (`HOME`, `XDG_*`) inside `dir`.
 */
export async function startCaddy(
  dir: string,
  site: { keygate: string; upstream: string },
): Promise<RunningProxy> {
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
  return answeringProxy(url, child, {
    name: "caddy",
    exitReport: () => readFileSync(log, "utf8"),
    stopSignal: "SIGTERM",
  });
}

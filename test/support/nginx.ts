/**
 * A real nginx (Debian's package; `.ci/install-proxies` installs it) running
 * `docs/forward-auth/nginx-server.conf` in front of an upstream, with Keygate answering its
 * `auth_request`. Everything it writes stays in a temporary directory.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./port.ts";
import { ROOT } from "./spawn.ts";

/** Where nginx is looked for. */
const CANDIDATES = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"];

/** The nginx binary, or a failure that says how to get one. */
export function nginxBinary(): string {
  const found = CANDIDATES.find((path) => existsSync(path)) ?? Bun.which("nginx");
  if (!found)
    throw new Error(
      "nginx is not installed: run `bash .ci/install-proxies` (Debian: apt-get install nginx-light)",
    );
  return found;
}

/**
 * Writes `dir/nginx.conf`: one foreground worker, everything it writes (pid, logs, temp files)
 * under `dir`, no access log, `http` holding `httpBlock`. Returns the file's path.
 */
export function writeNginxConf(dir: string, httpBlock: string): string {
  mkdirSync(join(dir, "logs"), { recursive: true });
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBlock}
}
`,
  );
  return conf;
}

/** A running nginx: its base URL and stop(). */
export interface RunningNginx {
  url: string;
  stop(): Promise<void>;
  process: Subprocess;
}

/** Starts nginx with the documented server block, filled in, under `dir`. */
export async function startNginx(
  dir: string,
  server: { keygate: string; upstream: string; serverConf?: string },
): Promise<RunningNginx> {
  const port = freePort();
  const template = readFileSync(
    server.serverConf ?? join(ROOT, "docs", "forward-auth", "nginx-server.conf"),
    "utf8",
  );
  const serverBlock = template
    .replaceAll("__LISTEN__", `127.0.0.1:${port}`)
    .replaceAll("__KEYGATE__", server.keygate)
    .replaceAll("__UPSTREAM__", server.upstream);
  const conf = writeNginxConf(dir, serverBlock);
  const child = Bun.spawn([nginxBinary(), "-p", dir, "-e", `${dir}/logs/error.log`, "-c", conf], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`nginx exited: ${await new Response(child.stderr).text()}`);
    try {
      await fetch(url, { method: "HEAD" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("nginx did not start");
      await Bun.sleep(20);
    }
  }
  return {
    url,
    process: child,
    async stop() {
      child.kill("SIGQUIT");
      await child.exited;
    },
  };
}

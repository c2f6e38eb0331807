/**
 * A real nginx (Debian's package; `.ci/install-proxies` installs it) running
 * `docs/forward-auth/nginx-server.conf` in front of an upstream, with Keygate answering its
 * `auth_request`. Everything it writes stays in a temporary directory.
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answeringProxy, freePort, proxyBinary, type RunningProxy } from "./proxy-process.ts";
import { ROOT } from "./spawn.ts";

/** The nginx binary, or a failure that says how to get one. */
export const nginxBinary = () =>
  proxyBinary(
    "nginx",
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"],
    "nginx-light",
  );

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

/** Starts nginx with the documented server block, filled in, under `dir`. */
export async function startNginx(
  dir: string,
  server: { keygate: string; upstream: string; serverConf?: string },
): Promise<RunningProxy> {
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
  return answeringProxy(url, child, {
    name: "nginx",
    exitReport: () => new Response(child.stderr).text(),
    stopSignal: "SIGQUIT",
  });
}

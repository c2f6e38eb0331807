/**
 * A reverse proxy (nginx, Caddy) that a test runs as a process of its own in front of
 * Keygate: a free port for it, and the wait until it answers.
 */
import { existsSync } from "node:fs";
import type { Subprocess } from "bun";

/** A running proxy: its base URL, its process, and stop(). */
export interface RunningProxy {
  url: string;
  process: Subprocess;
  stop(): Promise<void>;
}

/**
 * The proxy's binary: the first of `candidates` that exists, else `name` on the PATH; else a
 * failure that says how to get one (`.ci/install-proxies`, or Debian's `debianPackage`).
 */
export function proxyBinary(name: string, candidates: string[], debianPackage: string): string {
  const found = candidates.find((path) => existsSync(path)) ?? Bun.which(name);
  if (!found)
    throw new Error(
      `${name} is not installed: run \`bash .ci/install-proxies\` (Debian: apt-get install ${debianPackage})`,
    );
  return found;
}

/** A port nothing listens on right now, for a server a test starts as a separate process. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/**
 * The proxy `child` serving at `url`, once it answers a request. Fails with what `exitReport`
 * returns when `child` exits first, or after 10 s. Its stop() sends `stopSignal` and waits.
 */
export async function answeringProxy(
  url: string,
  child: Subprocess,
  how: { name: string; exitReport: () => string | Promise<string>; stopSignal: NodeJS.Signals },
): Promise<RunningProxy> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${how.name} exited: ${await how.exitReport()}`);
    try {
      await fetch(url, { method: "HEAD" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${how.name} did not start`);
      await Bun.sleep(20);
    }
  }
  return {
    url,
    process: child,
    async stop() {
      child.kill(how.stopSignal);
      await child.exited;
    },
  };
}

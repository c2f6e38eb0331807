/**
 * Starts the real server the way the README does (`bun run keygate serve`, or the target
 * KEYGATE_E2E_TARGET selects) and stops it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { serveCommand } from "./target.ts";

/**
 * Every process below `pid`, from Linux's /proc. `bun run keygate serve` is a process that
 * runs the server as its child: a signal that cannot be forwarded (SIGKILL) must be sent to
 * the server itself.
 */
function descendantsOf(pid: number): number[] {
  if (!existsSync("/proc")) return descendantsByPgrep(pid);
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const below = (parent: number): number[] =>
    [...parentOf].filter(([, p]) => p === parent).flatMap(([child]) => [child, ...below(child)]);
  return below(pid);
}

/** {@link descendantsOf} where there is no /proc (macOS): `pgrep -P`, level by level. */
function descendantsByPgrep(pid: number): number[] {
  const children = Bun.spawnSync(["pgrep", "-P", String(pid)])
    .stdout.toString()
    .split("\n")
    .filter(Boolean)
    .map(Number);
  return children.flatMap((child) => [child, ...descendantsByPgrep(child)]);
}

/** Whether process `pid` still runs (a zombie, dead but not yet reaped, does not). */
function isRunning(pid: number): boolean {
  if (!existsSync("/proc")) return Bun.spawnSync(["kill", "-0", String(pid)]).exitCode === 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** A running server: its base URL, what it printed, and stop(). */
export interface RunningServer {
  url: string;
  /** Everything printed before it was listening. */
  startupOutput: string;
  /** Everything printed so far (complete once `stop()` has resolved). */
  output(): string;
  process: Subprocess<"ignore", "pipe", "pipe">;
  stop(): Promise<void>;
  /** `kill -9` of the server and every process it runs under: no chance to flush anything. */
  crash(): Promise<void>;
}

/** Spawns the server on a free port and waits until it says it is listening. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<RunningServer> {
  const { cmd, cwd } = serveCommand();
  const child = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, KEYGATE_PORT: "0", KEYGATE_CONFIG: "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const decoder = new TextDecoder();
  const pumped = (async () => {
    for await (const chunk of child.stdout) output += decoder.decode(chunk);
  })();
  const deadline = Date.now() + timeoutMs;
  while (!/listening on (https?:\/\/\S+)/.test(output)) {
    if (child.exitCode !== null) {
      throw new Error(
        `server exited (${child.exitCode}): ${output}${await new Response(child.stderr).text()}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`server did not start: ${output}`);
    }
    await Bun.sleep(10);
  }
  const url = (/listening on (https?:\/\/\S+)/.exec(output) as RegExpExecArray)[1] as string;
  return {
    url,
    startupOutput: output,
    output: () => output,
    process: child,
    async stop() {
      const below = descendantsOf(child.pid);
      child.kill("SIGTERM");
      await child.exited;
      // The server under `bun run` must have stopped with it, not be left serving, orphaned
      // (holding the output pipe open, too: checked before the output is awaited).
      const survivors = below.filter(isRunning);
      for (const pid of survivors) process.kill(pid, "SIGKILL");
      await pumped;
      if (survivors.length > 0)
        throw new Error(`process ${survivors.join(", ")} outlived the server's stop`);
    },
    async crash() {
      for (const pid of [...descendantsOf(child.pid), child.pid]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await child.exited;
      await pumped;
    },
  };
}

/** Starts the real server the way the README does (`bun run keygate serve`) and stops it. */
import type { Subprocess } from "bun";
import { ROOT } from "./spawn.ts";

/** A running server: its base URL, everything it printed before it was ready, and stop(). */
export interface RunningServer {
  url: string;
  startupOutput: string;
  process: Subprocess<"ignore", "pipe", "pipe">;
  stop(): Promise<void>;
}

/** Spawns `bun run keygate serve` on a free port and waits until it says it is listening. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<RunningServer> {
  const child = Bun.spawn(["bun", "run", "keygate", "serve"], {
    cwd: ROOT,
    env: { ...process.env, KEYGATE_PORT: "0", KEYGATE_CONFIG: "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  const deadline = Date.now() + timeoutMs;
  while (!/listening on (http:\/\/\S+)/.test(output)) {
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`server did not start: ${output}`);
    }
    const { value, done } = await reader.read();
    if (done)
      throw new Error(
        `server exited (${await child.exited}): ${output}${await new Response(child.stderr).text()}`,
      );
    output += decoder.decode(value);
  }
  reader.releaseLock();
  const url = (/listening on (http:\/\/\S+)/.exec(output) as RegExpExecArray)[1] as string;
  return {
    url,
    startupOutput: output,
    process: child,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

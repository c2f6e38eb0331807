/** Stand-ins for the Keygate processes that hold a database's lock (src/cli/serve-lock.ts). */

import { existsSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";

/**
 * A live process whose arguments include `argument` (`serve`, `rebuild`), as the Keygate
 * process holding the lock has; the caller kills it. Resolves once its arguments show.
 */
export async function processWithArgument(argument: string): Promise<Subprocess> {
  const child = Bun.spawn(["bash", "-c", "sleep 30; exit 0", argument]);
  // Spawning returns before the child has exec'd: wait until it shows its arguments.
  const cmdline = () => readFileSync(`/proc/${child.pid}/cmdline`, "utf8");
  while (existsSync("/proc") && !cmdline().split("\0").includes(argument)) await Bun.sleep(5);
  return child;
}

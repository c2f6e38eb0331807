/** Runs the real `keygate` command in a child process, as a user would. */
import { keygateCommand } from "./target.ts";

export { ROOT } from "./target.ts";

/** What a finished command printed and returned. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `keygate ...args` on the target under test with extra environment, optionally feeding stdin. */
export function keygate(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): CommandResult {
  const { cmd, cwd } = keygateCommand(args);
  const result = Bun.spawnSync(cmd, {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", KEYGATE_PEPPER: "", ...env },
    stdin: stdin === undefined ? "ignore" : Buffer.from(stdin),
  });
  return {
    code: result.exitCode ?? -1,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
  };
}

/** {@link keygate} without blocking: the test's own requests keep flowing while it runs. */
export async function keygateAsync(
  args: string[],
  env: Record<string, string>,
): Promise<CommandResult> {
  const { cmd, cwd } = keygateCommand(args);
  const child = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", KEYGATE_PEPPER: "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/** Runs a command that must succeed with `--json` and returns its parsed output. */
export function keygateJson<T = Record<string, unknown>>(
  args: string[],
  env: Record<string, string>,
): T {
  const result = keygate([...args, "--json"], env);
  if (result.code !== 0)
    throw new Error(`keygate ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

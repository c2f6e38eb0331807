/** Argument parsing shared by the CLI's commands, on node:util's parseArgs (Bun and Deno). */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ISO_TIME_EXAMPLE, parseIsoTime } from "../input/iso-time.ts";
import type { RateLimitSetting } from "../keys/api-key.ts";

/** Bad command-line usage: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * What node:util's parseArgs said, in the CLI's words: its unknown-option message goes on about
 * positional arguments after `--`, which no Keygate command takes.
 */
function usageMessage(error: Error, options: Options): string {
  const code = (error as { code?: string }).code;
  const named = /'(-{1,2}[^' <]+)/.exec(error.message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const taken = Object.keys(options).map((name) => `--${name}`);
    return `unknown option ${named}; this command takes ${taken.join(", ")}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (options[named.replace(/^-+/, "")]?.type === "boolean") return `${named} takes no value`;
    // Followed by something that starts with a dash (`--after -3`, `--name --json`).
    if (error.message.includes("ambiguous"))
      return `${named} needs a value; write one that starts with a dash as ${named}=-…`;
    return `${named} needs a value`;
  }
  return error.message;
}

/**
 * Parses `argv` strictly: an unknown flag, a missing value, a flag given twice (parseArgs would
 * keep the last of two, so `--entity A --entity B` acted on B) and an argument besides the
 * flags are usage errors.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): ParsedArgs<O>;
/** The same, for a command that takes one argument besides its flags (`what`: an id, a path). */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  what: string,
): ParsedArgs<O> & { positional: string };
export function parseCommandArgs<O extends Options>(argv: string[], options: O, what?: string) {
  const parsed = parseStrictly(argv, { ...options, json: { type: "boolean" } } as const);
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option") continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given twice; give it once`);
    seen.add(token.name);
    // `--stream "$STREAM"` with the variable unset: read as no flag, the export would be the
    // whole log; read as a value, an id that happens not to exist.
    if (token.value !== undefined && !token.value.trim())
      throw new UsageError(`--${token.name} is empty: give it a value, or leave it out`);
  }
  const { positionals } = parsed;
  if (what !== undefined) {
    if (positionals.length !== 1)
      throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
    const positional = positionals[0] as string;
    // An unset shell variable (`keys revoke "$KEY_ID"`): not an id that happens not to exist.
    if (!positional.trim()) throw new UsageError(`the ${what} is empty`);
    return { ...parsed, positional };
  }
  // An argument no command reads would be dropped unseen: `keys list ent_…` (for --entity
  // ent_…) would list every key.
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument "${positionals[0]}": this command takes only the flags below`,
    );
  return parsed;
}

/** What {@link parseCommandArgs} returns for `options` (and `--json`). */
type ParsedArgs<O extends Options> = ReturnType<
  typeof parseStrictly<O & { json: { type: "boolean" } }>
>;

/** parseArgs with its tokens, its errors turned into usage errors. */
function parseStrictly<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error, options));
  }
}

/** The value of a required flag ({@link parseCommandArgs} has already refused an empty one). */
export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required`);
  return value;
}

/** `live` or `test`. */
export function parseEnvironment(raw: string): "live" | "test" {
  if (raw !== "live" && raw !== "test")
    throw new UsageError(`--env must be live or test, not "${raw}"`);
  return raw;
}

const WINDOW_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** `LIMIT/WINDOW` such as `100/1s`, `60/1m` or `1000/3600` (seconds). */
export function parseRateLimit(raw: string): RateLimitSetting {
  const match = /^(\d+)\/(\d+)([smh]?)$/.exec(raw);
  if (!match)
    throw new UsageError(`--rate-limit must look like 100/1s, 60/1m or 1000/1h, not "${raw}"`);
  const [, limit, amount, unit] = match as unknown as [string, string, string, string];
  return { limit: Number(limit), window_seconds: Number(amount) * (WINDOW_UNITS[unit] ?? 1) };
}

/** A non-negative whole number of seconds. */
export function parseSeconds(raw: string, flag: string): number {
  if (!/^\d+$/.test(raw))
    throw new UsageError(`--${flag} must be a whole number of seconds, not "${raw}"`);
  return Number(raw);
}

/** An ISO 8601 date-time with its offset ({@link parseIsoTime}). */
export function parseTimestamp(raw: string, flag: string): Date {
  const date = parseIsoTime(raw);
  if (!date)
    throw new UsageError(
      `--${flag} must be an ISO 8601 time with its offset, such as ${ISO_TIME_EXAMPLE}, not "${raw}"`,
    );
  return date;
}

/** The metadata of every event a CLI command appends: the operator, no request. */
export const CLI_ACTOR = { actor: "cli", request_id: null };

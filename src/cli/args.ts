/** Argument parsing shared by the CLI's commands, on node:util's parseArgs (Bun and Deno). */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ISO_TIME_EXAMPLE, parseIsoTime } from "../input/iso-time.ts";
import type { RateLimitSetting } from "../keys/api-key.ts";

/** Bad command-line usage: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `argv` strictly: unknown flags and missing values are usage errors. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, json: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The value of a required flag. */
export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** The single positional argument (an id), or a usage error naming what is missing. */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1)
    throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0] as string;
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

#!/usr/bin/env bun
/**
 * The `keygate` command (`bun run keygate <command>`). Exit codes: 0 done; 1 refused
 * (a Keygate error or bad configuration: the message says why); 2 bad usage; 141 stdout's
 * reader went away (`… | head`).
 */
import { type Keygate, openKeygate } from "../app/keygate.ts";
import { maskCredentialsIn } from "../auth/mask-credentials.ts";
import { loadConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { DatabaseOpenError } from "../db/open.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { parseCommandArgs, UsageError } from "./args.ts";
import { AUDIT_USAGE, runAudit } from "./audit.ts";
import { runBackup } from "./backup.ts";
import { CONFIG_USAGE, runConfig } from "./config-check.ts";
import { ENTITIES_USAGE, runEntities } from "./entities.ts";
import { runInit } from "./init.ts";
import { KEYS_USAGE, runKeys } from "./keys.ts";
import { endQuietlyWhenReaderGoes } from "./output.ts";
import { REBUILD_USAGE, runRebuild } from "./rebuild.ts";
import { runServe } from "./serve.ts";
import { runUsers, USERS_USAGE } from "./users.ts";
import { runVersion, VERSION_USAGE } from "./version.ts";

const SERVE_USAGE = `  serve                      start the server (runs init first on an empty database)`;
const INIT_USAGE = `  init [--json]              create the platform entity and one live and one test key holding *`;
const BACKUP_USAGE = `  backup PATH [--json]       a consistent copy of the database, safe while serving (VACUUM INTO)`;

/** Each command's own usage lines, shown under a usage error of that command. */
const COMMAND_USAGE: Record<string, string> = {
  serve: SERVE_USAGE,
  init: INIT_USAGE,
  backup: BACKUP_USAGE,
  entities: ENTITIES_USAGE,
  keys: KEYS_USAGE,
  users: USERS_USAGE,
  audit: AUDIT_USAGE,
  rebuild: REBUILD_USAGE,
  config: CONFIG_USAGE,
  version: VERSION_USAGE,
};

const USAGE = `Usage: keygate <command> [options]

${SERVE_USAGE}
${INIT_USAGE}
${BACKUP_USAGE}
${ENTITIES_USAGE}
${KEYS_USAGE}
${USERS_USAGE}
${AUDIT_USAGE}
${REBUILD_USAGE}
${CONFIG_USAGE}
${VERSION_USAGE}

Environment: KEYGATE_DB (default ./data/keygate.sqlite), KEYGATE_PORT (default 3000),
KEYGATE_CONFIG (a JSON config file), KEYGATE_PEPPER (optional HMAC pepper for secret hashes);
for serve also KEYGATE_HOST (default 0.0.0.0) and KEYGATE_TLS_CERT with KEYGATE_TLS_KEY (HTTPS).
`;

/** The flags that stand for `version`, as most CLIs take them. */
const VERSION_FLAGS: ReadonlySet<string | undefined> = new Set(["--version", "-V"]);

async function run(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command !== "serve") endQuietlyWhenReaderGoes();
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return;
  }
  if (VERSION_FLAGS.has(command)) return runVersion(argv.slice(1));
  if (!Object.hasOwn(COMMAND_USAGE, command)) throw new UsageError(`unknown command "${command}"`);
  if (sub === "help" || sub === "--help" || sub === "-h") {
    process.stdout.write(usageFor(command));
    return;
  }
  // serve is configured by the environment alone: a flag it ignored would leave the operator
  // believing a setting (a port, say) that is not in force.
  if (command === "serve" && sub !== undefined)
    throw new UsageError(
      `serve takes no arguments, got "${sub}": set KEYGATE_PORT, KEYGATE_HOST, KEYGATE_DB, KEYGATE_CONFIG instead`,
    );
  // It reads no configuration and opens no database: it answers wherever it is run.
  if (command === "version") return runVersion(argv.slice(1));
  // It reads the configuration and nothing else: no database is opened or created.
  if (command === "config") return runConfig(sub, rest);
  // Only these two make a database; every other command works on the one a deployment has,
  // so a mistyped KEYGATE_DB is refused rather than answered from a new, empty database.
  const createDatabase = command === "serve" || command === "init";
  const open = () => openKeygate(loadConfig(process.env), { createDatabase });
  if (command === "serve") return runServe(open());
  const { kg, close } = openedOnFirstUse(open);
  try {
    switch (command) {
      case "init": {
        const { values } = parseCommandArgs(argv.slice(1), {});
        return runInit(kg, values.json === true);
      }
      case "backup":
        return runBackup(kg, argv.slice(1));
      case "entities":
        return await runEntities(kg, sub, rest);
      case "keys":
        return await runKeys(kg, sub, rest);
      case "users":
        return await runUsers(kg, sub, rest);
      case "audit":
        return await runAudit(kg, sub, rest);
      case "rebuild":
        return await runRebuild(kg, argv.slice(1));
    }
  } finally {
    close();
  }
}

/**
 * The core, opened when a command first reaches for it: a command refused for its arguments
 * (a flag mistyped, an id missing) never creates, migrates or writes a database — run where
 * `KEYGATE_DB` is not set, it would otherwise leave a new `./data/keygate.sqlite` and key
 * files behind. Not for `serve`, whose every request would pay the indirection.
 */
function openedOnFirstUse(open: () => Keygate): { kg: Keygate; close(): void } {
  let opened: Keygate | undefined;
  const kg = new Proxy({} as Keygate, {
    get(_, property) {
      opened ??= open();
      const value: unknown = Reflect.get(opened, property, opened);
      return typeof value === "function" ? value.bind(opened) : value;
    },
  });
  return { kg, close: () => opened?.close() };
}

/**
 * The usage shown under a usage error: the command's own lines when the command is known (the
 * 40 lines of every command would bury the one that matters), else all of it.
 */
function usageFor(given: string | undefined): string {
  const command = VERSION_FLAGS.has(given) ? "version" : given;
  if (command === undefined || !Object.hasOwn(COMMAND_USAGE, command)) return USAGE;
  return `Usage: keygate <command> [options]\n\n${COMMAND_USAGE[command]}\n\nEvery command and the environment it reads: keygate help\n`;
}

function fail(error: unknown, json: boolean, command: string | undefined): number {
  if (error instanceof UsageError) {
    process.stderr.write(`keygate: ${maskCredentialsIn(error.message)}\n\n${usageFor(command)}`);
    return 2;
  }
  if (error instanceof KeygateError) {
    // A message may quote an argument: a key given where an id belongs is shown masked.
    const message = maskCredentialsIn(error.message);
    const envelope = {
      error: {
        type: error.type,
        code: error.code,
        message,
        ...(error.param ? { param: error.param } : {}),
      },
    };
    // A failure of Keygate's own (a full disk) names what went wrong underneath, for the operator.
    const cause =
      error.cause instanceof Error ? `\n  cause: ${maskCredentialsIn(error.cause.message)}` : "";
    process.stderr.write(
      json
        ? `${JSON.stringify(envelope)}\n`
        : `keygate: ${message}${error.param ? ` (${error.param})` : ""}${cause}\n`,
    );
    return 1;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`keygate: bad configuration: ${error.message}\n`);
    return 1;
  }
  if (error instanceof DatabaseOpenError) {
    process.stderr.write(`keygate: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(
    `keygate: unexpected failure: ${maskCredentialsIn(String((error as Error).stack ?? error))}\n`,
  );
  return 1;
}

const argv = process.argv.slice(2);
try {
  await run(argv);
} catch (error) {
  process.exitCode = fail(error, argv.includes("--json"), argv[0]);
}

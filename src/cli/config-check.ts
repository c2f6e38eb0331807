/**
 * `keygate config check`: the configuration resolved as `serve` resolves it — the environment
 * and the `KEYGATE_CONFIG` file, validated field by field, the gateway's routes as one router
 * takes them, every route rule checked against the routes served, and the TLS files read and
 * matched — without opening the database, writing a file or listening: for an operator, or a
 * deployment pipeline, to try a configuration before a restart, as `nginx -t` does. With
 * `--database`, it also judges the database as `serve`'s start would (database-check.ts),
 * read-only. Bad configuration exits 1 with the same message `serve` would stop with; what it
 * prints on success holds no secret.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { openKeygate } from "../app/keygate.ts";
import { type KeygateConfig, loadConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { createApp } from "../http/app.ts";
import { parseCommandArgs, UsageError } from "./args.ts";
import { checkDatabase, type DatabaseCheck } from "./database-check.ts";
import { readTls } from "./listen.ts";
import { printJson } from "./output.ts";
import type { LockingCommand } from "./serve-lock.ts";

/** The usage line of the command. */
export const CONFIG_USAGE = `  config check [--database] [--json]   validate the environment and KEYGATE_CONFIG as serve would, opening no database
                             (--database: also check KEYGATE_DB against it as serve's start would, changing nothing)`;

/** Refuses a certificate and key that cannot be read, parsed, or do not belong together. */
function checkTls(files: NonNullable<KeygateConfig["tls"]>): void {
  const { cert, key } = readTls(files);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new ConfigError(
      `${files.certSetting} / ${files.keySetting}: not a PEM certificate and its private key (${(error as Error).message})`,
    );
  }
  if (!matches)
    throw new ConfigError(
      `${files.certSetting} / ${files.keySetting}: the private key does not belong to the certificate`,
    );
}

/**
 * Builds the server's routes as `serve` does, over a database in memory (no file is opened or
 * written), so that what only the route table can tell — a rule that covers no route — is
 * refused here too.
 */
function checkRoutes(config: KeygateConfig): void {
  const kg = openKeygate({ ...config, dbPath: ":memory:" });
  try {
    createApp(kg, { accessLog: false });
  } finally {
    kg.close();
  }
}

/** What a valid configuration amounts to, with no secret in it. */
function summaryOf(config: KeygateConfig, file: string | undefined) {
  const { gateway } = config;
  return {
    valid: true,
    config_file: file ?? null,
    database: config.dbPath,
    host: config.host,
    port: config.port,
    tls: config.tls !== undefined,
    gateway: {
      upstream: gateway.upstream ?? null,
      routes: gateway.routes.map((route) => ({
        method: route.method,
        path: route.path,
        scopes: route.scopes,
        entity: route.entity ? { from: route.entity.from, name: route.entity.name } : null,
      })),
    },
  };
}

/** Runs `keygate config <sub> …`. */
export function runConfig(sub: string | undefined, argv: string[]): void {
  if (sub !== "check")
    throw new UsageError(
      sub === undefined ? "config needs a subcommand: check" : `unknown config command "${sub}"`,
    );
  const { values } = parseCommandArgs(argv, { database: { type: "boolean" } });
  const config = loadConfig(process.env);
  if (config.tls) checkTls(config.tls);
  checkRoutes(config);
  const database = values.database === true ? checkDatabase(config, new Date()) : undefined;
  const summary = summaryOf(config, process.env.KEYGATE_CONFIG || undefined);
  if (values.json === true) {
    printJson(database ? { ...summary, database_check: databaseJson(database) } : summary);
    return;
  }
  const { gateway } = summary;
  const lines = [
    `configuration valid (${summary.config_file ? `KEYGATE_CONFIG ${summary.config_file}` : "no KEYGATE_CONFIG: defaults and the environment"})`,
    `  serve: ${summary.tls ? "https" : "http"} on ${summary.host}:${summary.port}, database ${summary.database}`,
    gateway.upstream
      ? `  gateway: ${gateway.routes.length} route(s) to ${gateway.upstream}`
      : `  gateway: off (no upstream)${gateway.routes.length ? `; ${gateway.routes.length} route(s) for forward-auth` : ""}`,
    ...gateway.routes.map(
      (route) =>
        `    ${route.method} ${route.path}${route.scopes.length ? `  needs ${route.scopes.join(", ")}` : ""}${route.entity ? `  entity from ${route.entity.from} ${route.entity.name}` : ""}`,
    ),
  ];
  if (database) lines.push(databaseLine(summary.database, database));
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** `--json`'s `database_check`. */
function databaseJson(check: DatabaseCheck) {
  const pidOf = (command: LockingCommand) =>
    check.heldBy?.command === command ? check.heldBy.pid : null;
  return {
    exists: check.exists,
    pending_migrations: check.pendingMigrations,
    served_by: pidOf("serve"),
    rebuilt_by: pidOf("rebuild"),
  };
}

/** Who holds the database now, as the end of `--database`'s line. */
function heldLine(heldBy: DatabaseCheck["heldBy"]): string {
  if (heldBy === undefined) return "";
  return heldBy.command === "rebuild"
    ? `; being rebuilt now by keygate rebuild (pid ${heldBy.pid}): serve is refused until it finishes`
    : `; served now by pid ${heldBy.pid}`;
}

/** What `--database` found, in a line: nothing `serve` would refuse, and what it would do first. */
function databaseLine(path: string, check: DatabaseCheck): string {
  const served = heldLine(check.heldBy);
  if (!check.exists)
    return `  database: none yet at ${path}: serve creates it and runs init${served}`;
  const pending = check.pendingMigrations;
  const migrations = pending.length
    ? `; serve applies ${pending.length} migration(s) first: ${pending.join(", ")}`
    : "";
  return `  database: nothing serve would refuse (pepper, key prefixes, key files)${migrations}${served}`;
}

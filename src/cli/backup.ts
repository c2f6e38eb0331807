/**
 * `keygate backup PATH`: a consistent copy of the database while the server runs, with
 * SQLite's `VACUUM INTO` (one read transaction: writers carry on, the copy is the state of one
 * moment, compacted), into a new file readable by its owner only. The key files beside the
 * database are not part of it (docs/deploy.md): it names them, to be backed up apart.
 */
import { existsSync, rmSync } from "node:fs";
import { type Keygate, serverKeyPath } from "../app/keygate.ts";
import { checkpointKeyPath } from "../audit/checkpoint-key.ts";
import type { KeygateConfig } from "../config/config.ts";
import { JWT_KEY, RESULTS_KEY, type ServerKey } from "../config/secret-file.ts";
import { openDriver } from "../db/driver.ts";
import { createPrivateFile } from "../db/open.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { headPositionOf } from "../store/event-store.ts";
import { parseCommandArgs } from "./args.ts";
import { report } from "./output.ts";

/** Runs `backup`. */
export function runBackup(kg: Keygate, argv: string[]): void {
  const { values, positional: target } = parseCommandArgs(argv, {}, "backup file path");
  // Created empty first, 0600 like the database (VACUUM INTO accepts an empty file): a copy
  // of the log and the projections is no more readable than the original.
  let created: boolean;
  try {
    created = createPrivateFile(target);
  } catch (error) {
    throw invalidRequest(`cannot create ${target}: ${(error as Error).message}`);
  }
  if (!created)
    throw new KeygateError("resource_conflict", `${target} already exists; choose a new file.`);
  try {
    kg.db.sql.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
  } catch (error) {
    // A full disk, a write error: what was written is no backup, and left in place it would
    // look like one (and block a retry to the same path).
    rmSync(target, { force: true });
    throw new KeygateError(
      "api_error",
      `the backup failed (${(error as Error).message}); nothing was kept at ${target}`,
    );
  }
  const events = eventsIn(target);
  const keyFiles = keyFilesOf(kg.config);
  const lines = [`backed up ${events} events to ${target}`];
  if (keyFiles.length > 0)
    lines.push(
      `not in the copy: ${keyFiles.join(", ")} — back them up with it, apart and encrypted (docs/deploy.md)`,
    );
  report(values.json === true, { path: target, events, key_files: keyFiles }, lines);
}

/**
 * The key files this deployment keeps (those no variable replaces), which a restore needs beside
 * the copy: the results, JWT and checkpoint keys.
 */
function keyFilesOf(config: KeygateConfig): string[] {
  const beside = (key: ServerKey, given: string | undefined) =>
    given ? undefined : serverKeyPath(config, key);
  return [
    beside(RESULTS_KEY, config.resultsKey),
    beside(JWT_KEY, config.jwtSecret),
    checkpointKeyPath(config),
  ].filter((path): path is string => path !== undefined && existsSync(path));
}

/**
 * How many events the copy holds, counted in the copy: the live log may have grown since the
 * moment it was taken (the server keeps appending), so its head would overstate the backup.
 */
function eventsIn(path: string): number {
  const copy = openDriver(path);
  try {
    return headPositionOf(copy.sql);
  } finally {
    copy.close();
  }
}

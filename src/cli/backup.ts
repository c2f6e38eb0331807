/**
 * `keygate backup PATH`: a consistent copy of the database while the server runs, with
 * SQLite's `VACUUM INTO` (one read transaction: writers carry on, the copy is the state of one
 * moment, compacted). The key files beside the database are not part of it (docs/deploy.md).
 */
import { existsSync } from "node:fs";
import type { Keygate } from "../app/keygate.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { onePositional, parseCommandArgs } from "./args.ts";
import { report } from "./output.ts";

/** Runs `backup`. */
export function runBackup(kg: Keygate, argv: string[]): void {
  const { values, positionals } = parseCommandArgs(argv, {});
  const target = onePositional(positionals, "backup file path");
  if (existsSync(target))
    throw new KeygateError("resource_conflict", `${target} already exists; choose a new file.`);
  kg.db.sql.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
  const events = kg.store.headPosition();
  report(values.json === true, { path: target, events }, [
    `backed up ${events} events to ${target}`,
  ]);
}

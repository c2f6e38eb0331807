/**
 * `keygate backup PATH`: a consistent copy of the database while the server runs, with
 * SQLite's `VACUUM INTO` (one read transaction: writers carry on, the copy is the state of one
 * moment, compacted), into a new file readable by its owner only. The key files beside the
 * database are not part of it (docs/deploy.md).
 */
import type { Keygate } from "../app/keygate.ts";
import { createPrivateFile } from "../db/open.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { onePositional, parseCommandArgs } from "./args.ts";
import { report } from "./output.ts";

/** Runs `backup`. */
export function runBackup(kg: Keygate, argv: string[]): void {
  const { values, positionals } = parseCommandArgs(argv, {});
  const target = onePositional(positionals, "backup file path");
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
  kg.db.sql.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
  const events = kg.store.headPosition();
  report(values.json === true, { path: target, events }, [
    `backed up ${events} events to ${target}`,
  ]);
}

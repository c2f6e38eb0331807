/**
 * `keygate config check --database`: what `serve` would refuse on the database `KEYGATE_DB`
 * names under this configuration, found before a restart rather than by it — without changing
 * the database or making a key file. `serve` stops at start when the database is another
 * application's, when it was migrated by a newer Keygate, when a key file beside it is damaged
 * (the JWT, results or checkpoint key), when its keys are hashed with another pepper or carry
 * other prefixes (no key would be found), when the checkpoint key is missing or another than
 * the latest checkpoint's signer, and when the results key is missing while results sealed
 * with it are in their window. Each is judged here by the same code, with the same message.
 */
import { existsSync } from "node:fs";
import { missingResultsKeyProblem, serverKeyFileProblem } from "../app/keygate.ts";
import { checkpointKeyFileProblem, checkpointKeyProblem } from "../audit/checkpoint-key.ts";
import type { KeygateConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { JWT_KEY, RESULTS_KEY } from "../config/secret-file.ts";
import { DatabaseOpenError, inspectDatabase } from "../db/open.ts";
import { hasTable, type SqlConnection } from "../db/sql.ts";
import { PepperCheck } from "../keys/pepper-check.ts";
import { keyPrefixProblem } from "../keys/prefix-check.ts";
import { type LockHolder, lockHolder } from "./serve-lock.ts";

/** What a start on the database would find, when nothing would stop it. */
export interface DatabaseCheck {
  /** Whether the file is there (`serve` creates a missing one and runs `init`). */
  exists: boolean;
  /** The migrations `serve` would apply first (tags, in order). */
  pendingMigrations: string[];
  /**
   * The process holding the database now, if one does: the server a restart replaces, or a
   * `keygate rebuild` that `serve` must wait for.
   */
  heldBy: LockHolder | undefined;
}

/** Why the configured pepper is not the one the database records, if it is not. */
function pepperProblem(sql: SqlConnection, pepper: string | undefined): string | undefined {
  if (!hasTable(sql, "pepper_check")) return undefined; // recorded on first use
  return new PepperCheck(sql, pepper).problem();
}

/** The first reason `serve` would not start on the database `sql` opens, if any. */
function firstProblem(config: KeygateConfig, sql: SqlConnection, now: Date): string | undefined {
  return (
    (config.jwtSecret ? undefined : serverKeyFileProblem(config, JWT_KEY)) ??
    (config.resultsKey ? undefined : serverKeyFileProblem(config, RESULTS_KEY)) ??
    pepperProblem(sql, config.keys.pepper) ??
    keyPrefixProblem(sql, config.keys) ??
    (config.audit.checkpointIntervalSeconds > 0 && hasTable(sql, "checkpoints")
      ? checkpointKeyProblem(config, sql)
      : checkpointKeyFileProblem(config)) ??
    (hasTable(sql, "idempotency_data_keys")
      ? missingResultsKeyProblem(config, sql, now.getTime())
      : undefined)
  );
}

/**
 * Checks the database `config` names as `serve` would at start, writing nothing. Throws a
 * {@link ConfigError} (or, for a database this build must not open, a {@link DatabaseOpenError})
 * with the message `serve` would stop with; else says what it found.
 */
export function checkDatabase(config: KeygateConfig, now: Date): DatabaseCheck {
  const heldBy = lockHolder(config.dbPath);
  if (config.dbPath === ":memory:" || !existsSync(config.dbPath))
    return { exists: false, pendingMigrations: [], heldBy };
  const db = inspectDatabase(config.dbPath);
  try {
    if (db.refusal) throw new DatabaseOpenError(config.dbPath, new Error(db.refusal));
    const problem = firstProblem(config, db.sql, now);
    if (problem) throw new ConfigError(problem);
    return { exists: true, pendingMigrations: db.pendingMigrations, heldBy };
  } finally {
    db.close();
  }
}

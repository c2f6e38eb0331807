/**
 * `keygate rebuild`: put every projection back to what the log says. Each projection's tables
 * are emptied and the whole log replayed into them, in one transaction (the code `serve` runs
 * at start for a projection whose version changed). For the operator whose `audit replay`
 * found rows that differ from the log — a table edited behind it, a key un-revoked by hand.
 *
 * The log must verify first: a rebuild installs what the log says, so a log that was tampered
 * with is refused (restore a backup instead). The server must be stopped: its in-memory key
 * index holds copies of rows, and a rebuild appends no event that would tell it to drop them.
 * The lock `serve` takes (serve-lock.ts) is held for the duration, so none starts meanwhile.
 */
import type { Keygate } from "../app/keygate.ts";
import { verifyLogInParallel } from "../audit/verify.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { allProjections, rebuildProjections } from "../projections/rebuild.ts";
import { parseCommandArgs } from "./args.ts";
import { localTrustedKey, trustedKey } from "./audit.ts";
import { report } from "./output.ts";
import { holdServeLock } from "./serve-lock.ts";

/** The rebuild command's usage line. */
export const REBUILD_USAGE = `  rebuild [--public-key PEM_FILE] [--json]
                             verify the log, then replace every projection with a replay of it
                             (the server stopped; for rows audit replay found edited behind the log;
                             --public-key: the checkpoints' signer, as for audit verify)`;

/** Runs `rebuild`. */
export async function runRebuild(kg: Keygate, argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(argv, { "public-key": { type: "string" } });
  // Read before the database is opened: a file that cannot be read is bad usage, nothing more.
  const publicKey = trustedKey("--public-key", values["public-key"]);
  const lock = holdServeLock(kg.config.dbPath, "rebuild");
  try {
    const verified = await verifyLogInParallel(kg.config.dbPath, kg.db.sql, {
      trustedPublicKey: publicKey ?? localTrustedKey(kg),
    });
    if (!verified.ok)
      throw new KeygateError(
        "resource_conflict",
        `the log does not verify (position ${verified.position}: ${verified.problem}): a rebuild would install what it says; nothing was changed — restore a backup instead (docs/deploy.md)`,
      );
    const started = performance.now();
    const rebuilt = rebuildProjections(kg.db.sql, allProjections(kg.db.sql));
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    report(
      values.json === true,
      {
        object: "projection_rebuild",
        projections: rebuilt.projections,
        events: rebuilt.events,
        through_position: rebuilt.throughPosition,
        seconds,
      },
      [
        `log intact: ${verified.events} events`,
        `rebuilt ${rebuilt.projections.join(", ")} from ${rebuilt.events} events (through position ${rebuilt.throughPosition}) in ${seconds} s`,
      ],
    );
  } finally {
    lock?.release();
  }
}

/**
 * What a serving Keygate does beside the requests, whoever serves it — `keygate serve`, or an
 * app of one's own with the plugin (src/plugin.ts starts it when the app listens):
 *
 * - syncs the hot key index with commits other processes made to the file (the CLI revoking a
 *   key, a Keygate server beside the app): without it a key revoked elsewhere would keep
 *   working here for as long as this process holds it in memory;
 * - writes the batched `last_used_at` times;
 * - sweeps expired idempotent results, destroying their data keys (the crypto-shredding of
 *   SPEC §5: without it no recorded response would ever become unreadable);
 * - signs a checkpoint of the log at start and then periodically, when it has grown;
 * - says at start when the results key cannot open the recorded results still in their window.
 *
 * A failed run is reported and the next tries again (periodic.ts).
 */
import {
  type CheckpointKey,
  existingCheckpointKey,
  signingCheckpointKey,
} from "../audit/checkpoint-key.ts";
import { appendCheckpoint } from "../audit/checkpoints.ts";
import { ConfigError } from "../config/config-error.ts";
import { LAST_USED_FLUSH_MS } from "../usage/last-used-tracker.ts";
import type { Keygate } from "./keygate.ts";
import {
  everyInterval,
  everyIntervalOneAtATime,
  type FailureReporter,
  reporting,
} from "./periodic.ts";

/** How often the key index looks for commits made by other processes (the CLI). */
export const KEY_INDEX_SYNC_MS = 100;

/** How often expired idempotent results are swept (their data keys destroyed). */
export const IDEMPOTENCY_SWEEP_MS = 60_000;

/** Running background work. */
export interface BackgroundWork {
  /** Stops every task; resolves once a sweep in progress is over (the database may close). */
  stop(): Promise<void>;
}

/**
 * Refuses to serve, with a `ConfigError`, where a key the database needs is missing: the
 * results key of results still in their window (src/app/keygate.ts), or the checkpoint key of
 * a database with checkpoints, or another key than the latest checkpoint's signer
 * (src/audit/checkpoint-key.ts). Returns the key checkpoints are signed with, or undefined
 * where none are (`audit.checkpoint_interval_seconds: 0`); a checkpoint key file that is
 * there all the same must still be a key, since verifying over HTTP reads it.
 */
export function keysToServeWith(kg: Keygate): CheckpointKey | undefined {
  if (kg.missingResultsKey) throw new ConfigError(kg.missingResultsKey);
  if (kg.config.audit.checkpointIntervalSeconds > 0)
    return signingCheckpointKey(kg.config, kg.db.sql);
  existingCheckpointKey(kg.config);
  return undefined;
}

/** Starts Keygate's background work over `kg`, reporting failures to `report`. */
export function startBackgroundWork(kg: Keygate, report: FailureReporter): BackgroundWork {
  // First, so that a refusal leaves nothing running.
  const signer = keysToServeWith(kg);
  // Said at start, not first met on a client's retry (result-store.ts).
  reporting(() => {
    const unreadable = kg.idempotency.unreadableResults();
    if (unreadable) report(unreadable);
  }, report)();
  const sync = everyInterval(KEY_INDEX_SYNC_MS, () => kg.keyIndex.sync(), report);
  const flush = everyInterval(LAST_USED_FLUSH_MS, () => kg.usage.flush(), report);
  // A sweep can take several turns of the event loop (one batch each).
  const sweep = everyIntervalOneAtATime(IDEMPOTENCY_SWEEP_MS, () => kg.idempotency.sweep(), report);
  let checkpoints: ReturnType<typeof setInterval> | undefined;
  if (signer) {
    const sign = () => appendCheckpoint(kg.db.sql, signer, kg.now());
    reporting(sign, report)(); // at start too
    checkpoints = everyInterval(kg.config.audit.checkpointIntervalSeconds * 1000, sign, report);
  }
  return {
    async stop() {
      clearInterval(sync);
      clearInterval(flush);
      clearInterval(checkpoints);
      await sweep.stop();
    },
  };
}

/**
 * `keygate audit …`: verify the log, sign and show checkpoints, replay the projections,
 * export the log, read one key's timeline (issue 7, docs/audit.md).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { eventCatalogue } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import {
  checkpointKey,
  checkpointKeyPath,
  existingCheckpointKey,
  newCheckpointKey,
  signingCheckpointKey,
} from "../audit/checkpoint-key.ts";
import {
  appendCheckpoint,
  type Checkpoint,
  checkpointMessage,
  latestCheckpoint,
  parseCheckpoint,
} from "../audit/checkpoints.ts";
import { exportedRows, exportLine, timelineLine, writeExport } from "../audit/export.ts";
import { replayAndCompare, replayReportObject } from "../audit/replay.ts";
import { verifyLogInParallel } from "../audit/verify.ts";
import { ConfigError } from "../config/config-error.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { utf8Text } from "../input/utf8-text.ts";
import { parseCommandArgs, UsageError } from "./args.ts";
import { printJson, report, say, stdoutSink } from "./output.ts";
import { servingPid } from "./serve-lock.ts";

/** The audit commands' usage lines. */
export const AUDIT_USAGE = `  audit verify [--public-key PEM_FILE] [--checkpoint JSON_FILE] [--workers N] [--json]
                                     recompute the whole chain; exit 1 at the first bad position
                                     (--checkpoint: one you kept, which the log must still reach;
                                     --checkpoint-public-key PEM_FILE: its signer, when it was
                                     signed before the checkpoint key was replaced)
  audit checkpoint [--new-key] [--json]   sign the log's head (size, hash, time) with the checkpoint key
                                     (--new-key: make a new key first, where the old one is lost)
  audit public-key                   print the checkpoint key's public half (PEM)
  audit replay [--json]              rebuild every projection into a scratch database and compare
  audit export [--after N] [--stream S] [--type T]   JSON Lines on stdout
  audit timeline KEY_ID [--json]     one key's life, in order`;

/**
 * The text of the file `option` names (UTF-8, a leading BOM dropped: a file an auditor saved
 * in a Windows editor), or a usage error naming both.
 */
function readOptionFile(option: string, path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`${option} ${path}: cannot read the file (${(error as Error).message})`);
  }
  const text = utf8Text(bytes);
  if (text === undefined) throw new UsageError(`${option} ${path}: not UTF-8 text`);
  return text;
}

/**
 * The base64 SPKI of an Ed25519 public key in the file at `path`, given as `option`
 * (`--public-key`, `--checkpoint-public-key`).
 */
export function trustedKey(option: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const text = readOptionFile(option, path);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (error) {
    throw new UsageError(`${option} ${path}: not a PEM key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new UsageError(
      `${option} ${path}: not an Ed25519 key (${key.asymmetricKeyType}); checkpoints are signed with Ed25519, and keygate audit public-key prints the key to keep`,
    );
  return key.export({ type: "spki", format: "der" }).toString("base64");
}

/**
 * The key `verify` (and `rebuild`'s check of the log) trusts without `--public-key`: the
 * checkpoint key file's, or none for a database without checkpoints. Never made here: a key
 * made now would vouch for nothing.
 */
export function localTrustedKey(kg: Keygate): string | undefined {
  const key = existingCheckpointKey(kg.config);
  if (key) return key.publicKeyBase64;
  if (latestCheckpoint(kg.db.sql))
    throw new ConfigError(
      `no checkpoint key at ${checkpointKeyPath(kg.config)} to check the checkpoints' signer with: give --public-key FILE, the public half the auditors kept (keygate audit public-key printed it)`,
    );
  return undefined;
}

/** `--checkpoint FILE`: a checkpoint the auditor kept, as the HTTP API served it. */
function heldCheckpoint(path: string | undefined): { heldCheckpoint?: Checkpoint } {
  if (path === undefined) return {};
  const text = readOptionFile("--checkpoint", path);
  try {
    return { heldCheckpoint: parseCheckpoint(text) };
  } catch (error) {
    throw new UsageError(`--checkpoint ${path}: not a checkpoint: ${(error as Error).message}`);
  }
}

/** `--workers N`: split the log into exactly N ranges, whatever its length. */
function workerCount(raw: string | undefined): { workers?: number; minEventsPerWorker?: number } {
  if (raw === undefined) return {};
  if (!/^[1-9]\d{0,2}$/.test(raw))
    throw new UsageError(`--workers must be a whole number from 1 to 999, not "${raw}"`);
  return { workers: Number(raw), minEventsPerWorker: 1 };
}

async function verify(kg: Keygate, argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(argv, {
    "public-key": { type: "string" },
    checkpoint: { type: "string" },
    "checkpoint-public-key": { type: "string" },
    workers: { type: "string" },
  });
  if (values["checkpoint-public-key"] !== undefined && values.checkpoint === undefined)
    throw new UsageError(
      "--checkpoint-public-key names the key the --checkpoint file is signed with: give --checkpoint too",
    );
  const held = heldCheckpoint(values.checkpoint);
  const result = await verifyLogInParallel(kg.config.dbPath, kg.db.sql, {
    ...workerCount(values.workers),
    ...held,
    trustedPublicKey: trustedKey("--public-key", values["public-key"]) ?? localTrustedKey(kg),
    heldCheckpointPublicKey: trustedKey("--checkpoint-public-key", values["checkpoint-public-key"]),
  });
  if (!result.ok) {
    report(values.json === true, result, [
      `NOT intact: position ${result.position}: ${result.problem} (${result.events} events verified before it)`,
    ]);
    process.exitCode = 1;
    return;
  }
  const checkpoint = result.checkpoint
    ? `; matches the checkpoint of ${result.checkpoint.created_at} (${result.checkpoint.size} events)`
    : "; no signed checkpoint yet (run `keygate audit checkpoint`)";
  const kept = held.heldCheckpoint
    ? `; and the held checkpoint of ${held.heldCheckpoint.created_at} (${held.heldCheckpoint.size} events)`
    : "";
  report(values.json === true, result, [
    `intact: ${result.events} events, head ${result.head}${checkpoint}${kept}`,
  ]);
}

/** `audit checkpoint [--new-key]`: sign the head, with a new key where the old one is lost. */
function checkpoint(kg: Keygate, argv: string[]): void {
  const { values } = parseCommandArgs(argv, { "new-key": { type: "boolean" } });
  const renew = values["new-key"] === true;
  const server = renew ? servingPid(kg.config.dbPath) : undefined;
  // A server holds its key in memory and would go on signing with the old one.
  if (server !== undefined)
    throw new KeygateError(
      "resource_conflict",
      `the database ${kg.config.dbPath} is served by keygate serve (pid ${server}): stop it before making a new checkpoint key, and start it after`,
    );
  const key = renew ? newCheckpointKey(kg.config) : signingCheckpointKey(kg.config, kg.db.sql);
  const { checkpoint, created } = appendCheckpoint(kg.db.sql, key, kg.now());
  const lines = [
    `${created ? "signed" : "already signed"}: ${checkpointMessage(checkpoint)}`,
    `signature ${checkpoint.signature}`,
  ];
  if (renew)
    lines.push(
      `signed with a new checkpoint key, ${checkpointKeyPath(kg.config)}: give the auditors its public half (keygate audit public-key); the old key signs nothing more`,
    );
  report(
    values.json === true,
    { ...checkpoint, message: checkpointMessage(checkpoint), created },
    lines,
  );
}

function timeline(kg: Keygate, argv: string[]): void {
  const { values, positional: keyId } = parseCommandArgs(argv, {}, "key id");
  const rows = [...exportedRows(kg.db.sql, { streamId: keyId })];
  if (rows.length === 0) throw new KeygateError("resource_missing", `No such key: ${keyId}.`);
  if (values.json === true) for (const row of rows) process.stdout.write(exportLine(row));
  else for (const row of rows) say(timelineLine(row));
}

/** Runs one audit subcommand. */
export async function runAudit(
  kg: Keygate,
  sub: string | undefined,
  argv: string[],
): Promise<void> {
  switch (sub) {
    case "verify":
      return verify(kg, argv);
    case "checkpoint":
      return checkpoint(kg, argv);
    case "public-key":
      parseCommandArgs(argv, {});
      process.stdout.write(checkpointKey(kg.config, kg.db.sql).publicKeyPem);
      return;
    case "replay": {
      const { values } = parseCommandArgs(argv, {});
      if (kg.config.dbPath === ":memory:") throw new UsageError("replay needs a database file");
      const result = replayAndCompare(kg.config.dbPath, { now: kg.now });
      if (values.json === true) printJson(replayReportObject(result));
      else if (result.differences.length === 0) say("identical");
      else {
        for (const d of result.differences) {
          say(`${d.table}:`);
          for (const row of d.onlyInReplay)
            say(`  log implies, live lacks: ${JSON.stringify(row)}`);
          for (const row of d.onlyInLive) say(`  live holds, log does not: ${JSON.stringify(row)}`);
        }
      }
      if (result.differences.length > 0) {
        // Said apart from the rows (stderr), which a script may read as they are.
        process.stderr.write(
          "keygate: the live tables differ from the log; to put them back as the log says, stop the server and run keygate rebuild (docs/audit.md)\n",
        );
        process.exitCode = 1;
      }
      return;
    }
    case "export": {
      const { values } = parseCommandArgs(argv, {
        after: { type: "string" },
        stream: { type: "string" },
        type: { type: "string" },
      });
      // Digits only: Number() would read 0x10 as 16 and 1e2 as 100, and export from there.
      if (values.after !== undefined && !/^\d{1,15}$/.test(values.after))
        throw new UsageError(
          `--after must be a position: a whole number in digits (0 or more), not "${values.after}"`,
        );
      const after = values.after === undefined ? 0 : Number(values.after);
      // A misspelt type would export nothing and exit 0, as if the log held none of it.
      if (values.type !== undefined && !eventCatalogue.has(values.type))
        throw new UsageError(
          `--type must be an event type (${[...eventCatalogue.keys()].join(", ")}), not "${values.type}"`,
        );
      // Lines go out as they are read, waiting for stdout: the memory stays flat.
      await writeExport(kg.db.sql, stdoutSink(), {
        after,
        ...(values.stream === undefined ? {} : { streamId: values.stream }),
        ...(values.type === undefined ? {} : { type: values.type }),
      });
      return;
    }
    case "timeline":
      return timeline(kg, argv);
    default:
      throw new UsageError(`unknown audit command "${sub ?? ""}"`);
  }
}

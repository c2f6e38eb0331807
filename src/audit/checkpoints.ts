/**
 * Signed checkpoints: the log's size and head hash at a moment, signed with Ed25519. The
 * signed message is one ASCII line, so that anyone can check it with standard tools:
 *
 *     keygate-checkpoint/v1 size=<n> head=<64 hex> time=<ISO 8601>
 */
import { createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { SqlConnection } from "../db/sql.ts";
import { transactionOrCommitFailed } from "../store/commit-failed-error.ts";
import type { CheckpointKey } from "./checkpoint-key.ts";

/** One checkpoint as stored and served. */
export interface Checkpoint {
  size: number;
  head_hash: string;
  created_at: string;
  /** The signer's public key, SPKI DER in base64. */
  public_key: string;
  /** The Ed25519 signature of {@link checkpointMessage}, base64. */
  signature: string;
}

/** A checkpoint as an auditor keeps it: the JSON of `GET /v1/audit/checkpoint` (other fields ignored). */
const HeldCheckpointSchema = Type.Object({
  size: Type.Integer({ minimum: 0 }),
  head_hash: Type.String({ pattern: "^[0-9a-f]{64}$" }),
  created_at: Type.String(),
  public_key: Type.String(),
  signature: Type.String(),
});

/**
 * Reads a checkpoint an auditor kept (as `GET /v1/audit/checkpoint` or `keygate audit
 * checkpoint --json` gave it). Throws an Error naming the first field that is wrong; whether
 * it is genuine is for {@link signatureValid} to say.
 */
export function parseCheckpoint(text: string): Checkpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  const error = Value.Errors(HeldCheckpointSchema, parsed).First();
  if (error) throw new Error(`${error.path.slice(1) || "(the whole file)"}: ${error.message}`);
  const { size, head_hash, created_at, public_key, signature } = parsed as Checkpoint;
  return { size, head_hash, created_at, public_key, signature };
}

/** The exact bytes a checkpoint's signature covers. */
export function checkpointMessage(
  c: Pick<Checkpoint, "size" | "head_hash" | "created_at">,
): string {
  return `keygate-checkpoint/v1 size=${c.size} head=${c.head_hash} time=${c.created_at}`;
}

/** The public key a checkpoint names as its signer. */
export function checkpointPublicKey(c: Pick<Checkpoint, "public_key">): KeyObject {
  return createPublicKey({ key: Buffer.from(c.public_key, "base64"), format: "der", type: "spki" });
}

/** Whether `c`'s signature is valid for the public key it names. */
export function signatureValid(c: Checkpoint): boolean {
  try {
    const key = checkpointPublicKey(c);
    return verify(null, Buffer.from(checkpointMessage(c)), key, Buffer.from(c.signature, "base64"));
  } catch {
    return false;
  }
}

/** The latest checkpoint, if any. */
export function latestCheckpoint(sql: SqlConnection): Checkpoint | undefined {
  return sql
    .prepare<Checkpoint>(
      "SELECT size, head_hash, created_at, public_key, signature FROM checkpoints ORDER BY id DESC LIMIT 1",
    )
    .get();
}

/**
 * Signs the log's current head and appends it, unless the latest checkpoint already covers
 * it (`force` signs anyway). Returns the checkpoint that covers the head now. A write SQLite
 * refuses (a full disk) is thrown as `CommitFailedError`: no checkpoint was kept.
 */
export function appendCheckpoint(
  sql: SqlConnection,
  key: CheckpointKey,
  now: Date,
  force = false,
): { checkpoint: Checkpoint; created: boolean } {
  return transactionOrCommitFailed(sql, () => {
    const head = sql
      .prepare<{ position: number; hash: string }>(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
      )
      .get() ?? { position: 0, hash: "0".repeat(64) };
    const latest = latestCheckpoint(sql);
    if (
      !force &&
      latest &&
      latest.size === head.position &&
      latest.public_key === key.publicKeyBase64
    )
      return { checkpoint: latest, created: false };
    const unsigned = { size: head.position, head_hash: head.hash, created_at: now.toISOString() };
    const checkpoint: Checkpoint = {
      ...unsigned,
      public_key: key.publicKeyBase64,
      signature: sign(null, Buffer.from(checkpointMessage(unsigned)), key.privateKey).toString(
        "base64",
      ),
    };
    sql
      .prepare(
        "INSERT INTO checkpoints (size, head_hash, created_at, public_key, signature) VALUES (?, ?, ?, ?, ?)",
      )
      .run(
        checkpoint.size,
        checkpoint.head_hash,
        checkpoint.created_at,
        checkpoint.public_key,
        checkpoint.signature,
      );
    return { checkpoint, created: true };
  });
}

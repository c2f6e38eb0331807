/**
 * The deployment's Ed25519 checkpoint key: a PKCS#8 PEM file with mode 0600, created at
 * `init` (or on first use, for a database initialised before checkpoints existed), at
 * `audit.checkpoint_key_path` / `KEYGATE_CHECKPOINT_KEY` or `keygate-checkpoint.key` beside
 * the database. Its public half is what outsiders verify checkpoints with.
 *
 * The key is the auditors' trust root, so it is never replaced without the operator saying so:
 * a database that holds checkpoints gets no new key made for it when the file is missing (a
 * restore without it), nothing signs with a key other than the one that signed the latest
 * checkpoint (a path pointing at another deployment's key), and a lost key is replaced only by
 * `keygate audit checkpoint --new-key` ({@link newCheckpointKey}).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { KeygateConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { createSecretFile } from "../config/secret-file.ts";
import type { SqlConnection } from "../db/sql.ts";
import { type Checkpoint, latestCheckpoint } from "./checkpoints.ts";

/** The signing key and its public half. */
export interface CheckpointKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI DER, base64: how checkpoints name their signer. */
  publicKeyBase64: string;
  /** SPKI PEM: what `openssl` reads. */
  publicKeyPem: string;
}

/** Keys of in-memory databases, which have no folder to keep a file in. */
const ephemeral = new Map<string, CheckpointKey>();

function fromPrivate(privateKey: KeyObject): CheckpointKey {
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyBase64: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Where the key file is, or undefined for an in-memory database. */
export function checkpointKeyPath(config: KeygateConfig): string | undefined {
  if (config.audit.checkpointKeyPath) return config.audit.checkpointKeyPath;
  if (config.dbPath === ":memory:") return undefined;
  return join(dirname(config.dbPath), "keygate-checkpoint.key");
}

/**
 * How messages name the key file: by its path, called "the checkpoint key" where a setting put
 * it elsewhere under a name of the operator's choosing (which may not say what it is).
 */
function described(config: KeygateConfig, path: string): string {
  return config.audit.checkpointKeyPath ? `the checkpoint key ${path}` : `${path}`;
}

/** Writes a new key to `path` (0600), unless a file is there; false if one was. */
function createKeyFile(path: string): boolean {
  const { privateKey } = generateKeyPairSync("ed25519");
  return createSecretFile(path, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
}

/**
 * The key in the file at `path`: an Ed25519 private key in PEM, else a {@link ConfigError}
 * naming the file (a damaged file, a public key or another kind of key put in its place).
 */
function readKeyFile(config: KeygateConfig, path: string): CheckpointKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(notAKey(config, path, (error as Error).message));
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new ConfigError(notAKey(config, path, `a ${key.asymmetricKeyType} key`));
  return fromPrivate(key);
}

/** Why the file at `path` is not a checkpoint key, and what to do. */
function notAKey(config: KeygateConfig, path: string, why: string): string {
  return `${described(config, path)} is not an Ed25519 private key in PEM (${why}): put back the file kept with the database's backups (or point KEYGATE_CHECKPOINT_KEY at it); if it is lost, move this file away, stop the server and run keygate audit checkpoint --new-key`;
}

/** The checkpoint key if its file is there (or, in memory, if one was made), else undefined. */
export function existingCheckpointKey(config: KeygateConfig): CheckpointKey | undefined {
  const path = checkpointKeyPath(config);
  if (path === undefined) return ephemeral.get(config.dbPath);
  return existsSync(path) ? readKeyFile(config, path) : undefined;
}

/** Why a missing key file must not be made anew: the database holds checkpoints. */
function missingKey(config: KeygateConfig, path: string, latest: Checkpoint): string {
  return `${described(config, path)} is missing, but the database holds checkpoints signed by the key ${latest.public_key}: put the file back from where it was kept with the database's backups (or point KEYGATE_CHECKPOINT_KEY at it); if it is lost, stop the server and run keygate audit checkpoint --new-key, then give the auditors the new public half`;
}

/** Why the key at `path` must not sign: another key signed the latest checkpoint. */
function notTheSigner(config: KeygateConfig, path: string, latest: Checkpoint): string {
  return `${described(config, path)} is not the key that signed the database's latest checkpoint (${latest.created_at}, key ${latest.public_key}): point KEYGATE_CHECKPOINT_KEY at that key's file; if it is lost, move this file away, stop the server and run keygate audit checkpoint --new-key`;
}

/**
 * Why a process could not sign checkpoints of the database `sql` opens with the key the
 * configuration names (what {@link signingCheckpointKey} would refuse), found without making
 * a key: the file missing from a database that holds checkpoints, not an Ed25519 private key,
 * or not the latest checkpoint's signer. Undefined when it could, or when a key would be made.
 */
export function checkpointKeyProblem(
  config: KeygateConfig,
  sql: SqlConnection,
): string | undefined {
  const path = checkpointKeyPath(config);
  const latest = latestCheckpoint(sql);
  if (path !== undefined && latest && !existsSync(path)) return missingKey(config, path, latest);
  const existing = existingKeyOrProblem(config);
  if (typeof existing === "string") return existing;
  if (path === undefined || !latest || !existing) return undefined;
  return latest.public_key === existing.publicKeyBase64
    ? undefined
    : notTheSigner(config, path, latest);
}

/**
 * Why the checkpoint key file, if it is there, is not a key (what {@link existingCheckpointKey}
 * would refuse): what a process that signs nothing but verifies over HTTP checks at start.
 */
export function checkpointKeyFileProblem(config: KeygateConfig): string | undefined {
  const existing = existingKeyOrProblem(config);
  return typeof existing === "string" ? existing : undefined;
}

/** {@link existingCheckpointKey}, its refusal given as the message rather than thrown. */
function existingKeyOrProblem(config: KeygateConfig): CheckpointKey | string | undefined {
  try {
    return existingCheckpointKey(config);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

/**
 * The checkpoint key of the database `sql` opens. A missing key file is created (0600) only
 * while the database holds no checkpoint; if it holds one, a {@link ConfigError} says to put
 * the file back (or, if it is lost, to run `keygate audit checkpoint --new-key`).
 */
export function checkpointKey(config: KeygateConfig, sql: SqlConnection): CheckpointKey {
  const path = checkpointKeyPath(config);
  if (path === undefined) {
    const key =
      existingCheckpointKey(config) ?? fromPrivate(generateKeyPairSync("ed25519").privateKey);
    ephemeral.set(config.dbPath, key);
    return key;
  }
  if (!existsSync(path)) {
    const latest = latestCheckpoint(sql);
    if (latest) throw new ConfigError(missingKey(config, path, latest));
    // Another process may create it first: then theirs is read.
    createKeyFile(path);
  }
  return readKeyFile(config, path);
}

/**
 * {@link checkpointKey}, refused with a {@link ConfigError} when it is not the key that signed
 * the database's latest checkpoint: what signs checkpoints (`serve`, `audit checkpoint`) must
 * not switch the auditors' trust root to another key unasked.
 */
export function signingCheckpointKey(config: KeygateConfig, sql: SqlConnection): CheckpointKey {
  const key = checkpointKey(config, sql);
  const latest = latestCheckpoint(sql);
  if (latest && latest.public_key !== key.publicKeyBase64)
    throw new ConfigError(
      notTheSigner(config, checkpointKeyPath(config) ?? "the checkpoint key", latest),
    );
  return key;
}

/**
 * Makes a new checkpoint key at the configured path, for a deployment whose key is lost or
 * leaked: throws a {@link ConfigError} if a file is there (move it away first: it may be
 * another deployment's key, or the very key the auditors still trust).
 */
export function newCheckpointKey(config: KeygateConfig): CheckpointKey {
  const path = checkpointKeyPath(config);
  if (path === undefined) throw new ConfigError("a database in memory has no checkpoint key file");
  if (!createKeyFile(path))
    throw new ConfigError(
      `${described(config, path)} exists: a new key is made only where there is none, so move that file away first (keep it if the auditors still trust it)`,
    );
  return readKeyFile(config, path);
}

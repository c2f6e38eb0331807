/**
 * The deployment's Ed25519 checkpoint key: a PKCS#8 PEM file with mode 0600, created at
 * `init` (or on first use, for a database initialised before checkpoints existed), at
 * `audit.checkpoint_key_path` / `KEYGATE_CHECKPOINT_KEY` or `keygate-checkpoint.key` beside
 * the database. Its public half is what outsiders verify checkpoints with.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { KeygateConfig } from "../config/config.ts";

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

/** The checkpoint key, created (0600) if it does not exist yet. */
export function checkpointKey(config: KeygateConfig): CheckpointKey {
  const path = checkpointKeyPath(config);
  if (path === undefined) {
    const key =
      ephemeral.get(config.dbPath) ?? fromPrivate(generateKeyPairSync("ed25519").privateKey);
    ephemeral.set(config.dbPath, key);
    return key;
  }
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: "wx" });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
  return fromPrivate(createPrivateKey(readFileSync(path, "utf8")));
}

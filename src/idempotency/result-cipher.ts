/**
 * Envelope encryption of recorded results (SPEC §5): each result is sealed with AES-256-GCM
 * under a fresh 256-bit data key, and the data key is stored wrapped (AES-256-GCM again)
 * under the results master key, which never enters the database. Destroying a result's
 * wrapped data key makes its sealed copy in the log unreadable for good (crypto-shredding),
 * while the log's hash chain, which covers only the ciphertext, stays verifiable.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;

function encrypt(key: Uint8Array, plaintext: Uint8Array, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
    decipher.final(),
  ]);
}

/** A result sealed under its own data key. */
export interface SealedResult {
  /** The data key, wrapped under the master key: store it outside the log. */
  wrappedKey: Buffer;
  /** IV ‖ ciphertext ‖ tag, base64: this goes into the log. */
  sealed: string;
}

/** Seals and opens results under one master key. */
export class ResultCipher {
  readonly #masterKey: Buffer;

  /** `masterKey`: 32 bytes. */
  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== 32) throw new Error("the results master key must be 32 bytes");
    this.#masterKey = Buffer.from(masterKey);
  }

  /**
   * Seals `plaintext` under a fresh data key. `dataKeyId` and `context` are bound in as
   * associated data, so neither a wrapped key nor a sealed result opens anywhere else.
   */
  seal(plaintext: Uint8Array, dataKeyId: string, context: string): SealedResult {
    const dataKey = randomBytes(32);
    const sealed = encrypt(dataKey, plaintext, context).toString("base64");
    const wrappedKey = encrypt(this.#masterKey, dataKey, dataKeyId);
    dataKey.fill(0);
    return { wrappedKey, sealed };
  }

  /** Whether this master key opens `wrappedKey` (it wrapped it, and nothing was altered). */
  unwraps(wrappedKey: Uint8Array, dataKeyId: string): boolean {
    try {
      decrypt(this.#masterKey, wrappedKey, dataKeyId).fill(0);
      return true;
    } catch {
      return false;
    }
  }

  /** Opens a sealed result; throws if anything was altered or belongs elsewhere. */
  open(sealed: string, wrappedKey: Uint8Array, dataKeyId: string, context: string): Buffer {
    const dataKey = decrypt(this.#masterKey, wrappedKey, dataKeyId);
    try {
      return decrypt(dataKey, Buffer.from(sealed, "base64"), context);
    } finally {
      dataKey.fill(0);
    }
  }
}

import { describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import {
  digestsEqual,
  hashPairSecret,
  hashSecretKey,
  newSalt,
} from "../../src/keys/secret-hash.ts";

describe("secret hashes", () => {
  const secret = "sk_live_abcdefghijklmnopqrstuvwxyz012345";

  test("a secret key is stored as SHA-256, or HMAC-SHA-256 with the pepper", () => {
    expect(hashSecretKey(secret)).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(hashSecretKey(secret, "pepper")).toBe(
      createHmac("sha256", "pepper").update(secret).digest("hex"),
    );
    expect(hashSecretKey(secret, "pepper")).not.toBe(hashSecretKey(secret));
  });

  test("a pair secret is hashed with its own salt", () => {
    const a = newSalt();
    const b = newSalt();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(hashPairSecret(secret, a)).not.toBe(hashPairSecret(secret, b));
    expect(hashPairSecret(secret, a)).toBe(
      createHash("sha256")
        .update(a + secret)
        .digest("hex"),
    );
  });

  test("digestsEqual compares digests, refusing different lengths", () => {
    const h = hashSecretKey(secret);
    expect(digestsEqual(h, hashSecretKey(secret))).toBe(true);
    expect(digestsEqual(h, hashSecretKey(`${secret}x`))).toBe(false);
    expect(digestsEqual(h, h.slice(0, 10))).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ResultCipher } from "../../src/idempotency/result-cipher.ts";

const plaintext = new TextEncoder().encode('{"secret":"sk_live_example"}');

describe("sealing recorded results", () => {
  test("a sealed result opens with its wrapped data key, and holds no plaintext", () => {
    const cipher = new ResultCipher(randomBytes(32));
    const { wrappedKey, sealed } = cipher.seal(plaintext, "dk_1", "ctx");
    expect(Buffer.from(sealed, "base64").includes(Buffer.from("sk_live_example"))).toBe(false);
    expect(new TextDecoder().decode(cipher.open(sealed, wrappedKey, "dk_1", "ctx"))).toBe(
      '{"secret":"sk_live_example"}',
    );
  });

  test("each result gets its own data key: equal plaintexts seal differently", () => {
    const cipher = new ResultCipher(randomBytes(32));
    const a = cipher.seal(plaintext, "dk_1", "ctx");
    const b = cipher.seal(plaintext, "dk_1", "ctx");
    expect(a.sealed).not.toBe(b.sealed);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
  });

  test("a wrong master key, data key id, context or one flipped bit does not open", () => {
    const cipher = new ResultCipher(randomBytes(32));
    const { wrappedKey, sealed } = cipher.seal(plaintext, "dk_1", "ctx");
    const flipped = Buffer.from(sealed, "base64");
    flipped[20] = (flipped[20] as number) ^ 1;
    const other = cipher.seal(plaintext, "dk_2", "ctx");
    expect(() =>
      new ResultCipher(randomBytes(32)).open(sealed, wrappedKey, "dk_1", "ctx"),
    ).toThrow();
    expect(() => cipher.open(sealed, wrappedKey, "dk_2", "ctx")).toThrow();
    expect(() => cipher.open(sealed, wrappedKey, "dk_1", "other")).toThrow();
    expect(() => cipher.open(flipped.toString("base64"), wrappedKey, "dk_1", "ctx")).toThrow();
    expect(() => cipher.open(sealed, other.wrappedKey, "dk_2", "ctx")).toThrow();
  });

  test("the master key must be 32 bytes", () => {
    expect(() => new ResultCipher(randomBytes(16))).toThrow("32 bytes");
  });
});

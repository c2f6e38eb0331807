import { describe, expect, test } from "bun:test";
import { BASE62 } from "../../src/ids/index.ts";
import {
  checksumValid,
  displayPrefix,
  generateKey,
  maskKey,
  parseKey,
  parseKeyShape,
  randomBase62,
} from "../../src/keys/key-format.ts";

describe("key format", () => {
  test("a generated key is {prefix}_{env}_ + 32 base62 characters and parses back", () => {
    for (const env of ["live", "test"] as const) {
      const key = generateKey("sk", env);
      expect(key).toMatch(new RegExp(`^sk_${env}_[0-9A-Za-z]{32}$`));
      expect(parseKey(key, "sk")).toEqual({ ok: true, prefix: "sk", environment: env });
    }
    const ck = generateKey("ck", "live");
    expect(ck.startsWith("ck_live_")).toBe(true);
    expect(parseKey(ck, "ck").ok).toBe(true);
  });

  test("every changed character of the body fails the checksum", () => {
    const key = generateKey("sk", "live");
    for (let i = 8; i < key.length; i++) {
      const swapped = key[i] === "a" ? "b" : "a";
      const typo = key.slice(0, i) + swapped + key.slice(i + 1);
      expect(parseKey(typo, "sk")).toEqual({ ok: false, reason: "checksum" });
    }
  });

  test("a key's environment tag is covered by the checksum: swapping live for test is malformed", () => {
    const key = generateKey("sk", "live");
    expect(parseKey(key.replace("sk_live_", "sk_test_"), "sk")).toEqual({
      ok: false,
      reason: "checksum",
    });
  });

  test("wrong environment tag, prefix, length or shape are told apart", () => {
    const key = generateKey("sk", "live");
    expect(parseKey(key.replace("_live_", "_prod_"), "sk")).toEqual({
      ok: false,
      reason: "environment",
    });
    expect(parseKey(key, "ck")).toEqual({ ok: false, reason: "prefix" });
    expect(parseKey(key.slice(0, -1), "sk")).toEqual({ ok: false, reason: "length" });
    expect(parseKey(`${key}!`, "sk")).toEqual({ ok: false, reason: "shape" });
    expect(parseKey("", "sk")).toEqual({ ok: false, reason: "shape" });
    expect(parseKey("Bearer sk_live_x", "sk")).toEqual({ ok: false, reason: "shape" });
  });

  test("parseKeyShape makes every check but the checksum, which checksumValid makes alone", () => {
    const key = generateKey("sk", "live");
    const typo = `${key.slice(0, -1)}${key.endsWith("a") ? "b" : "a"}`;
    expect(parseKeyShape(typo, "sk")).toEqual({ ok: true, prefix: "sk", environment: "live" });
    expect([checksumValid(key), checksumValid(typo)]).toEqual([true, false]);
    expect(parseKeyShape(key, "ck")).toEqual({ ok: false, reason: "prefix" });
    expect(parseKeyShape(key.replace("_live_", "_prod_"), "sk")).toEqual({
      ok: false,
      reason: "environment",
    });
    expect(parseKeyShape(key.slice(0, -1), "sk")).toEqual({ ok: false, reason: "length" });
    expect(parseKeyShape(`${key}!`, "sk")).toEqual({ ok: false, reason: "shape" });
  });

  test("display forms: prefix is the first 16 characters, masked keeps the last 4", () => {
    const key = generateKey("sk", "test");
    expect(displayPrefix(key)).toBe(key.slice(0, 16));
    expect(maskKey(key)).toBe(`sk_test_••••${key.slice(-4)}`);
  });

  test("randomBase62 draws only base62 characters, roughly uniformly, never repeating a key", () => {
    const sample = randomBase62(62_000);
    const counts = new Map<string, number>();
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.keys()].every((c) => BASE62.includes(c))).toBe(true);
    expect(counts.size).toBe(62);
    // Each character is expected 1000 times; a modulo bias would push some far off.
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
    for (const n of counts.values()) expect(n).toBeLessThan(1200);
    const keys = new Set(Array.from({ length: 1000 }, () => generateKey("sk", "live")));
    expect(keys.size).toBe(1000);
  });
});

import { describe, expect, test } from "bun:test";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { checkName, escapeControls, requirePlainText } from "../../src/input/plain-text.ts";
import { generateKey, maskKey } from "../../src/keys/key-format.ts";

describe("plain text", () => {
  test("letters of any script, punctuation and emoji pass unchanged", () => {
    for (const text of ["billing", "Café — Zürich", "日本の店舗", "😀 shop", "a b"])
      expect(requirePlainText(text, "name")).toBe(text);
  });

  test("C0, DEL, C1, line separators and bidi controls are refused, naming the field and the character", () => {
    for (const [text, point] of [
      ["a\u0000", "U+0000"],
      ["a\tb", "U+0009"],
      ["a\nb", "U+000A"],
      ["a\u001b[2K", "U+001B"],
      ["a\u007f", "U+007F"],
      ["a\u009b", "U+009B"],
      ["a\u2028", "U+2028"],
      ["\u202eabc", "U+202E"],
      ["a\u2066b", "U+2066"],
    ] as const) {
      let caught: unknown;
      try {
        requirePlainText(text, "reference");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(KeygateError);
      expect(caught).toMatchObject({ code: "invalid_request", param: "reference" });
      expect((caught as Error).message).toContain(point);
    }
  });

  test("text holding anything shaped like a key is refused, naming the field; near misses pass", () => {
    const secret = generateKey("sk", "live");
    for (const text of [
      secret,
      generateKey("pk", "test"),
      generateKey("ck", "test"),
      `my key is ${secret}, keep it safe`,
      `sk_live_${"51HxYzAbCdEfGh".repeat(7)}`, // a longer body (another vendor's key) holds 32
    ]) {
      let caught: unknown;
      try {
        requirePlainText(text, "reason");
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: "invalid_request", param: "reason" });
      expect((caught as Error).message).toContain("must not hold an API key");
      expect((caught as Error).message).not.toContain(secret);
    }
    for (const text of [
      secret.slice(0, 16), // the display prefix
      maskKey(secret),
      secret.slice(0, -1), // 31 characters of body
      secret.replace("_live_", "_prod_"),
      "sk_live_ and then words",
    ])
      expect(requirePlainText(text, "name")).toBe(text);
    expect(() => checkName(` ${secret} `)).toThrow("must not hold an API key");
  });

  test("a name is trimmed, 1–200 characters", () => {
    expect(checkName("  shop  ")).toBe("shop");
    expect(() => checkName(" \t ")).toThrow("name must not be blank: it holds only white space.");
    expect(checkName(` ${"x".repeat(200)} `)).toHaveLength(200);
    expect(() => checkName("x".repeat(201))).toThrow(
      "name must be 1–200 characters, spaces at its ends aside; it has 201.",
    );
    expect(() => checkName(" sh\u001bop ")).toThrow("plain text");
  });

  test("escapeControls writes each control character out, leaving the rest", () => {
    expect(escapeControls("a\u001b[2Kb\u202e日本\n")).toBe("a\\u{1b}[2Kb\\u{202e}日本\\u{a}");
    expect(escapeControls("plain")).toBe("plain");
  });
});

import { describe, expect, test } from "bun:test";
import { DEFAULT_IDEMPOTENCY_KEY_PATTERN } from "../../src/config/config.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { pathWithQuery, requestFingerprint } from "../../src/idempotency/fingerprint.ts";
import { readIdempotencyKey } from "../../src/idempotency/idempotency-key.ts";
import { generateKey } from "../../src/keys/key-format.ts";

const pattern = new RegExp(DEFAULT_IDEMPOTENCY_KEY_PATTERN);

function refusal(header: string, with_ = pattern): string {
  try {
    readIdempotencyKey(header, with_);
  } catch (error) {
    expect(error).toBeInstanceOf(KeygateError);
    return (error as KeygateError).code;
  }
  throw new Error(`expected ${JSON.stringify(header)} to be refused`);
}

describe("the Idempotency-Key header", () => {
  test("longer than 255 characters: refused before the configured pattern runs, whatever it allows", () => {
    const long = /^[a-z]{1,4096}$/;
    expect(readIdempotencyKey("a".repeat(255), long)).toBe("a".repeat(255));
    expect(refusal("a".repeat(256), long)).toBe("idempotency_key_invalid");
    expect(() => readIdempotencyKey(`"${"a".repeat(256)}"`, long)).toThrow(
      "at most 255 characters",
    );
    // The pattern never sees the long header: one that would backtrack for hours is not run.
    const exponential = /^([a-z]+)+$/;
    expect(refusal(`${"a".repeat(300)}!`, exponential)).toBe("idempotency_key_invalid");
  });

  test("bare, or as a structured-field string", () => {
    expect(readIdempotencyKey("order-1234.retry_2", pattern)).toBe("order-1234.retry_2");
    expect(readIdempotencyKey('"order-1234"', pattern)).toBe("order-1234");
    expect(readIdempotencyKey('  "order-1234"  ', pattern)).toBe("order-1234");
    expect(readIdempotencyKey("a".repeat(8), pattern)).toBe("a".repeat(8));
    expect(readIdempotencyKey("a".repeat(64), pattern)).toBe("a".repeat(64));
  });

  test("8–64 letters, digits, '.', '_', '-' by default: anything else is idempotency_key_invalid", () => {
    for (const bad of [
      "",
      "short",
      "a".repeat(65),
      "has space inside",
      "slash/inside",
      "ünïcödé-key",
      '"unterminated',
      '"a\\"quote-inside"', // a valid sf-string, but '"' is not allowed in a key
      '"bad\\escape1"',
      '"two""strings"',
    ]) {
      expect(refusal(bad)).toBe("idempotency_key_invalid");
    }
  });

  test("an API key sent as the Idempotency-Key is refused: it fits the format, but would be logged", () => {
    for (const key of [generateKey("sk", "live"), generateKey("pk", "test")]) {
      expect(pattern.test(key)).toBe(true);
      expect(refusal(key)).toBe("idempotency_key_invalid");
      expect(refusal(`"${key}"`)).toBe("idempotency_key_invalid");
      expect(refusal(`retry-${key}`, /^.{8,255}$/)).toBe("idempotency_key_invalid");
    }
  });

  test("the format is configurable", () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(readIdempotencyKey("0b4e2c1e-8f0a-4c55-9e57-1c1b2d3e4f50", uuid)).toBe(
      "0b4e2c1e-8f0a-4c55-9e57-1c1b2d3e4f50",
    );
    expect(refusal("order-1234", uuid)).toBe("idempotency_key_invalid");
  });
});

describe("the request fingerprint", () => {
  test("the path keeps its query string", () => {
    expect(pathWithQuery("http://localhost:3000/v1/x?a=1&b=2")).toBe("/v1/x?a=1&b=2");
    expect(pathWithQuery("https://api.example.com/")).toBe("/");
  });

  test("method, path with query and body bytes each change it; equal requests share it", () => {
    const body = new TextEncoder().encode('{"amount":100}');
    const base = requestFingerprint("POST", "/v1/charges", body);
    expect(
      requestFingerprint("POST", "/v1/charges", new TextEncoder().encode('{"amount":100}')),
    ).toBe(base);
    expect(requestFingerprint("PUT", "/v1/charges", body)).not.toBe(base);
    expect(requestFingerprint("POST", "/v1/charges?x=1", body)).not.toBe(base);
    expect(
      requestFingerprint("POST", "/v1/charges", new TextEncoder().encode('{"amount": 100}')),
    ).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});

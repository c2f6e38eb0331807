import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  canonicalEvent,
  canonicalJson,
  chainHash,
  GENESIS_HASH,
} from "../../src/store/hash-chain.ts";

describe("canonicalJson", () => {
  test("sorts keys at every depth and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    );
  });
  test("matches JSON.stringify for strings, including escapes and non-ASCII", () => {
    const s = 'quote " backslash \\ newline \n tab \t bell \u0007 é 𝄞';
    expect(canonicalJson(s)).toBe(JSON.stringify(s));
  });
  test("drops undefined fields and refuses non-integers", () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/integers only/);
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/integers only/);
  });
  test("refuses a string or key with an unpaired surrogate: UTF-8, which the hash covers, has no form for it", () => {
    expect(() => canonicalJson({ name: "a\ud800" })).toThrow(/unpaired surrogate/);
    expect(() => canonicalJson({ "\udc00": 1 })).toThrow(/unpaired surrogate/);
    expect(canonicalJson("\ud83d\ude00")).toBe('"\u{1F600}"');
  });
});

describe("chainHash", () => {
  const fields = {
    position: 1,
    streamId: "ent_a",
    streamVersion: 1,
    type: "entity.deactivated",
    schemaVersion: 1,
    data: '{"entity_id":"ent_a"}',
    metadata: '{"actor":"cli","request_id":null}',
    recordedAt: "2026-01-01T00:00:00.000Z",
  };
  test("the canonical event is the canonical JSON of the event's fields", () => {
    expect(canonicalEvent(fields)).toBe(
      canonicalJson({
        data: { entity_id: "ent_a" },
        metadata: { actor: "cli", request_id: null },
        position: 1,
        recorded_at: "2026-01-01T00:00:00.000Z",
        schema_version: 1,
        stream_id: "ent_a",
        stream_version: 1,
        type: "entity.deactivated",
      }),
    );
  });
  test("is SHA-256 of the previous hash's hex followed by the canonical event", () => {
    const expected = createHash("sha256")
      .update(GENESIS_HASH + canonicalEvent(fields))
      .digest("hex");
    expect(chainHash(GENESIS_HASH, fields)).toBe(expected);
    expect(chainHash("1".repeat(64), fields)).not.toBe(expected);
  });
});

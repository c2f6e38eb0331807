import { describe, expect, test } from "bun:test";
import { encodeTime, newId } from "../src/ids/index.ts";

describe("ids", () => {
  test("prefix + 22 base62 characters", () => {
    expect(newId("key")).toMatch(/^key_[0-9A-Za-z]{22}$/);
    expect(newId("ent")).toMatch(/^ent_[0-9A-Za-z]{22}$/);
  });
  test("ids sort by creation time, and two ids of one millisecond still differ", () => {
    const times = [0, 1, 61, 62, 1_700_000_000_000, 1_800_000_000_000, 3_000_000_000_000];
    const ids = times.map((t) => newId("key", t));
    expect([...ids].sort()).toEqual(ids);
    expect(encodeTime(62)).toBe("0000010");
    expect(newId("key", 5)).not.toBe(newId("key", 5));
  });
  test("the time part is the given millisecond's, whatever id came before", () => {
    for (const t of [62, 62, 0, 62, 1_800_000_000_000, 0])
      expect(newId("req", t).slice(4, 11)).toBe(encodeTime(t));
  });
});

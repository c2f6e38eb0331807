import { describe, expect, test } from "bun:test";
import { LruMap } from "../../src/cache/lru-map.ts";

describe("LruMap", () => {
  test("past its entry bound it drops the least recently used, and says so", () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, number>({ maxEntries: 2, onEvict: (key) => evicted.push(key) });
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1); // a is now the most recently used
    lru.set("c", 3);
    expect([...lru].map(([key]) => key)).toEqual(["a", "c"]);
    expect(evicted).toEqual(["b"]);
    expect(lru.get("b")).toBeUndefined();
  });

  test("a weight bound drops as many old entries as it takes", () => {
    const lru = new LruMap<string, string>({
      maxEntries: 100,
      maxWeight: 10,
      weigh: (value) => value.length,
    });
    lru.set("a", "1234");
    lru.set("b", "1234");
    lru.set("c", "12345678");
    expect([...lru].map(([key]) => key)).toEqual(["c"]);
    // Replacing an entry counts its new weight only.
    lru.set("c", "12");
    lru.set("d", "12345678");
    expect(lru.size).toBe(2);
  });

  test("delete and clear give back their room and tell no eviction", () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, string>({
      maxEntries: 10,
      maxWeight: 4,
      weigh: (value) => value.length,
      onEvict: (key) => evicted.push(key),
    });
    lru.set("a", "1234");
    expect(lru.delete("a")).toBe("1234");
    expect(lru.delete("a")).toBeUndefined();
    lru.set("b", "1234");
    lru.clear();
    lru.set("c", "1234");
    expect([lru.size, evicted]).toEqual([1, []]);
  });
});

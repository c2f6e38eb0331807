import { describe, expect, test } from "bun:test";
import { LruMap } from "../../src/cache/lru-map.ts";
import { seededRandom } from "../support/random.ts";

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

  test("random gets, sets, deletes and clears agree with a plain model of use order", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const evicted: string[] = [];
      const expectedEvicted: string[] = [];
      const lru = new LruMap<string, string>({
        maxEntries: 8,
        maxWeight: 20,
        weigh: (value) => value.length,
        onEvict: (key) => evicted.push(key),
      });
      // The model: entries least recently used first.
      let model: [string, string][] = [];
      const weight = () => model.reduce((sum, [, value]) => sum + value.length, 0);
      for (let step = 0; step < 2_000; step++) {
        const key = `k${random.int(12)}`;
        const at = model.findIndex(([k]) => k === key);
        const op = random.int(20);
        if (op < 8) {
          expect(lru.get(key)).toBe(at === -1 ? undefined : model[at]?.[1]);
          if (at !== -1) model.push(...model.splice(at, 1));
        } else if (op < 17) {
          const value = "v".repeat(1 + random.int(6));
          lru.set(key, value);
          if (at !== -1) model.splice(at, 1);
          model.push([key, value]);
          while (model.length > 0 && (model.length > 8 || weight() > 20))
            expectedEvicted.push((model.shift() as [string, string])[0]);
        } else if (op < 19) {
          expect(lru.delete(key)).toBe(at === -1 ? undefined : model[at]?.[1]);
          if (at !== -1) model.splice(at, 1);
        } else {
          lru.clear();
          model = [];
        }
        expect([...lru]).toEqual(model);
        expect(lru.size).toBe(model.length);
        expect(evicted).toEqual(expectedEvicted);
      }
    }
  });
});

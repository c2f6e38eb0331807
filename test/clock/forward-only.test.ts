import { describe, expect, test } from "bun:test";
import { forwardOnly } from "../../src/clock/forward-only.ts";

/** A wall clock that reads the given epoch-ms values in turn. */
function readings(...values: number[]): () => Date {
  let i = 0;
  return () => new Date(values[i++] as number);
}

describe("forwardOnly", () => {
  test("reads the wall clock while it runs forward, steps forward included", () => {
    const now = forwardOnly(readings(1_000, 1_500, 60_000));
    expect([now(), now(), now()]).toEqual([1_000, 1_500, 60_000]);
  });

  test("a step back holds the time, then it runs on at the wall clock's pace, ahead by the step", () => {
    // Wall: 10.0 s, 10.5 s, stepped back to 9.2 s, then 9.7 s, 10.2 s, then back again to 3 s.
    const now = forwardOnly(readings(10_000, 10_500, 9_200, 9_700, 10_200, 3_000, 3_100));
    expect([now(), now(), now(), now(), now(), now(), now()]).toEqual([
      10_000, 10_500, 10_500, 11_000, 11_500, 11_500, 11_600,
    ]);
  });
});

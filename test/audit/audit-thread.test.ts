/** `oneAtATime`: the server's audits, asked for by many callers at once, run once. */
import { expect, test } from "bun:test";
import { oneAtATime } from "../../src/audit/audit-thread.ts";

/** A run that settles when told to, counting how often it was started. */
function controlledRun() {
  let runs = 0;
  let settle: { resolve(value: number): void; reject(error: Error): void } | undefined;
  const run = () => {
    runs++;
    return new Promise<number>((resolve, reject) => {
      settle = { resolve, reject };
    });
  };
  return {
    run,
    runs: () => runs,
    resolve: (value: number) => settle?.resolve(value),
    reject: (error: Error) => settle?.reject(error),
  };
}

test("calls while a run is under way share its answer; a call after it settled runs afresh", async () => {
  const control = controlledRun();
  const shared = oneAtATime(control.run);
  const first = shared();
  const second = shared();
  expect(control.runs()).toBe(1);
  control.resolve(7);
  expect(await Promise.all([first, second])).toEqual([7, 7]);
  const third = shared();
  expect(control.runs()).toBe(2);
  control.resolve(8);
  expect(await third).toBe(8);
});

test("a failure is shared too, and the next call runs again", async () => {
  const control = controlledRun();
  const shared = oneAtATime(control.run);
  const both = [shared(), shared()];
  expect(control.runs()).toBe(1);
  control.reject(new Error("disk full"));
  for (const call of both) await expect(call).rejects.toThrow("disk full");
  const again = shared();
  expect(control.runs()).toBe(2);
  control.resolve(1);
  expect(await again).toBe(1);
});

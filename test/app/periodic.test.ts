import { describe, expect, test } from "bun:test";
import { everyInterval, everyIntervalOneAtATime } from "../../src/app/periodic.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("periodic tasks", () => {
  test("a task that throws is reported, and runs again at the next interval", async () => {
    const reported: unknown[] = [];
    let runs = 0;
    const timer = everyInterval(
      5,
      () => {
        runs++;
        if (runs <= 2) throw new Error(`database is locked (${runs})`);
      },
      (error) => reported.push(error),
    );
    while (runs < 4) await sleep(5);
    clearInterval(timer);
    expect(reported.map((e) => (e as Error).message)).toEqual([
      "database is locked (1)",
      "database is locked (2)",
    ]);
  });

  test("an asynchronous task runs at once, never overlaps itself (ticks during a run are skipped), survives failures, and stop() waits for it", async () => {
    const reported: unknown[] = [];
    let running = 0;
    let overlapped = false;
    let runs = 0;
    let finished = 0;
    const task = everyIntervalOneAtATime(
      2,
      async () => {
        runs++;
        if (running > 0) overlapped = true;
        running++;
        await sleep(10); // longer than the interval
        running--;
        finished++;
        if (runs === 1) throw new Error("disk full");
      },
      (error) => reported.push(error),
    );
    expect(runs).toBe(1);
    while (runs < 3) await sleep(2);
    const runsAtStop = runs;
    await task.stop();
    // The ticks that came during a run were skipped, not queued: stop() waited for the run in
    // progress only, and no other started.
    expect(runs).toBe(runsAtStop);
    expect(overlapped).toBe(false);
    expect(finished).toBe(runs);
    await sleep(30);
    expect(runs).toBe(runsAtStop);
    expect(reported.map((e) => (e as Error).message)).toEqual(["disk full"]);
  });
});

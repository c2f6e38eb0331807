/**
 * Periodic tasks that must never take the process down: an exception thrown in a timer ends
 * it, and Keygate's background work can fail for reasons that pass (another process holding
 * the write lock past `busy_timeout`, a full disk). A failure is reported, and the next run
 * tries again (background-work.ts).
 */

/** Where a failed run is reported. */
export type FailureReporter = (error: unknown) => void;

/** `task` as a function that reports what it throws instead of throwing it. */
export function reporting(task: () => void, report: FailureReporter): () => void {
  return () => {
    try {
      task();
    } catch (error) {
      report(error);
    }
  };
}

/** Runs `task` every `ms` milliseconds, reporting what it throws instead of crashing. */
export function everyInterval(
  ms: number,
  task: () => void,
  report: FailureReporter,
): ReturnType<typeof setInterval> {
  return setInterval(reporting(task, report), ms);
}

/**
 * Runs the asynchronous `task` now and then every `ms` milliseconds, one run at a time: a tick
 * that comes while a run is still going is skipped, not queued. Failures are reported. `stop()`
 * clears the timer and resolves once the run in progress, if any, is over.
 */
export function everyIntervalOneAtATime(
  ms: number,
  task: () => Promise<unknown>,
  report: FailureReporter,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const start = () => {
    running ??= task().then(
      () => {
        running = undefined;
      },
      (error) => {
        running = undefined;
        report(error);
      },
    );
  };
  start();
  const timer = setInterval(start, ms);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

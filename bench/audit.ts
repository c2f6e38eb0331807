/**
 * Audit scenario (issue 7): `verify` over BENCH_EVENTS events (default 1,000,000) in events
 * per second (the median of {@link VERIFY_ROUNDS} runs, with the fastest and slowest), and
 * `keygate audit export` of that log against one of 10,000 events: the peak resident memory
 * of the export process, to show it streams. (The databases are rebuilt on every run: about
 * a minute.)
 */
import { join } from "node:path";
import { verifyLogInParallel } from "../src/audit/verify.ts";
import { openDatabase } from "../src/db/open.ts";
import { databaseWithKeys } from "./fixtures.ts";
import { median } from "./load.ts";
import type { Figure, Scenario } from "./main.ts";

const ROOT = join(import.meta.dir, "..");
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/**
 * Verify runs, one after another: one run swung from 155,000 to 231,000 events/s on this VM
 * (other tenants' load), so one run says little about where the target stands.
 */
const VERIFY_ROUNDS = 5;

/** Seconds one `audit verify` of the whole log takes, as the CLI runs it (a worker per core). */
async function verifySeconds(dbPath: string): Promise<{ seconds: number; events: number }> {
  const db = openDatabase(dbPath);
  try {
    const started = performance.now();
    const report = await verifyLogInParallel(dbPath, db.sql);
    const seconds = (performance.now() - started) / 1000;
    if (!report.ok) throw new Error(`the bench log does not verify: ${report.problem}`);
    return { seconds, events: report.events };
  } finally {
    db.close();
  }
}

/**
 * Runs `keygate audit export` into /dev/null under a fresh python3 parent and returns the
 * export's peak resident memory in bytes: RUSAGE_CHILDREN of a parent with that one child is
 * exactly its high-water mark (this process's own children would blur it).
 */
function exportPeakRss(dbPath: string): number {
  const measure = [
    "import resource, subprocess, sys",
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)",
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
  ].join("\n");
  const result = Bun.spawnSync(
    ["python3", "-c", measure, "bun", "src/cli/main.ts", "audit", "export"],
    {
      cwd: ROOT,
      env: { ...process.env, KEYGATE_DB: dbPath, KEYGATE_CONFIG: "" },
      stderr: "inherit",
    },
  );
  const [code, kib] = result.stdout.toString().trim().split(" ").map(Number);
  if (code !== 0 || kib === undefined) throw new Error(`audit export failed: ${result.stdout}`);
  return kib * 1024;
}

/** The audit scenario. */
export const auditScenario: Scenario = {
  name: "audit",
  async run() {
    const large = await databaseWithKeys("audit-large", EVENTS);
    const small = await databaseWithKeys("audit-small", 10_000);
    const runs: number[] = [];
    let events = 0;
    for (let round = 0; round < VERIFY_ROUNDS; round++) {
      const run = await verifySeconds(large.dbPath);
      runs.push(run.seconds);
      events = run.events;
    }
    const seconds = median(runs);
    const rssSmall = exportPeakRss(small.dbPath);
    const rssLarge = exportPeakRss(large.dbPath);
    return [
      {
        name: `audit verify, ${events.toLocaleString("en-US")} events (median of ${VERIFY_ROUNDS})`,
        value: seconds,
        unit: "s",
      },
      {
        name: "  verify throughput",
        value: events / seconds,
        unit: "events/s",
        target: { value: 200_000, better: "higher" },
      },
      { name: "  fastest run", value: events / Math.min(...runs), unit: "events/s" },
      { name: "  slowest run", value: events / Math.max(...runs), unit: "events/s" },
      { name: "audit export peak RSS, 10,000 events", value: rssSmall / 1024 ** 2, unit: "MiB" },
      {
        name: `audit export peak RSS, ${events.toLocaleString("en-US")} events`,
        value: rssLarge / 1024 ** 2,
        unit: "MiB",
      },
      {
        name: "  ratio",
        value: rssLarge / rssSmall,
        unit: "×",
        target: { value: 1.5, better: "lower" },
      },
    ] satisfies Figure[];
  },
};

/**
 * Store scenario: append throughput (one event per append; own commit, and group commit),
 * rebuild speed over BENCH_EVENTS events (default 1,000,000), and the time from
 * `keygate serve` to a ready /readyz on a database holding that many keys.
 */
import { join } from "node:path";
import { initPlatform } from "../src/commands/init.ts";
import { allProjections, rebuildProjections } from "../src/projections/rebuild.ts";
import { STREAM_DOES_NOT_EXIST } from "../src/store/expected-version.ts";
import { fillKeys, freshKeygate, keyCreatedEvent } from "./fixtures.ts";
import type { Figure, Scenario } from "./main.ts";

const ROOT = join(import.meta.dir, "..");
const APPENDS = Number(process.env.BENCH_APPENDS ?? 50_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PRODUCERS = 256;
const META = { actor: "bench", request_id: null };

function platformKeygate(name: string) {
  const opened = freshKeygate(name);
  const init = initPlatform(opened.kg, META);
  return { ...opened, entity: init.entityId };
}

/**
 * Calibration: the machine's floor, with no Keygate code involved — SQLite commits of one
 * tiny row (WAL, synchronous=NORMAL, as Keygate runs it). Compare the append figures to it.
 */
function measureBareCommits(): Figure {
  const { kg } = freshKeygate("calibrate");
  kg.db.sql.exec("CREATE TABLE calibration (n INTEGER)");
  const insert = kg.db.sql.prepare("INSERT INTO calibration (n) VALUES (?)");
  const n = 20_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) kg.db.sql.transaction(() => insert.run(i));
  const seconds = (performance.now() - started) / 1000;
  kg.close();
  return { name: "calibration: bare SQLite 1-row commits", value: n / seconds, unit: "commits/s" };
}

/** One commit per append: the CLI's path. */
function measureSyncAppends(): Figure {
  const { kg, entity } = platformKeygate("append-sync");
  const batch = Array.from({ length: APPENDS }, () => keyCreatedEvent(entity));
  const started = performance.now();
  for (const { id, event } of batch) {
    kg.store.appendToStream(id, [event], {
      expectedStreamVersion: STREAM_DOES_NOT_EXIST,
      metadata: META,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  kg.close();
  return { name: "append key, 1 event, own commit", value: APPENDS / seconds, unit: "events/s" };
}

/**
 * One event per append, PRODUCERS concurrent callers each awaiting its append before the
 * next (as concurrent requests do), with group commit sharing SQLite commits between them.
 */
async function measureGroupedAppends(): Promise<Figure> {
  const { kg, entity } = platformKeygate("append-grouped");
  const batch = Array.from({ length: APPENDS }, () => keyCreatedEvent(entity));
  let next = 0;
  const producer = async () => {
    while (next < batch.length) {
      const { id, event } = batch[next++] as (typeof batch)[number];
      await kg.store.appendToStreamGrouped(id, [event], {
        expectedStreamVersion: STREAM_DOES_NOT_EXIST,
        metadata: META,
      });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: PRODUCERS }, producer));
  const seconds = (performance.now() - started) / 1000;
  kg.close();
  return {
    name: `append key, 1 event, group commit (${PRODUCERS} callers)`,
    value: APPENDS / seconds,
    unit: "events/s",
    target: { value: 30_000, better: "higher" },
  };
}

async function timeToReady(dbPath: string): Promise<number> {
  const port = 39_000 + Math.floor(Math.random() * 1000);
  const started = performance.now();
  const child = Bun.spawn(["bun", "src/cli/main.ts", "serve"], {
    cwd: ROOT,
    env: { ...process.env, KEYGATE_DB: dbPath, KEYGATE_PORT: String(port), KEYGATE_CONFIG: "" },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200)
          return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000)
        throw new Error("serve did not become ready in 60 s");
      await Bun.sleep(5);
    }
  } finally {
    child.kill();
    await child.exited;
  }
}

/** The store scenario. */
export const storeScenario: Scenario = {
  name: "store",
  async run() {
    const figures: Figure[] = [
      measureBareCommits(),
      measureSyncAppends(),
      await measureGroupedAppends(),
    ];

    const { kg, dbPath, entity } = platformKeygate("million");
    const fillStarted = performance.now();
    await fillKeys(kg, entity, EVENTS - 3);
    console.log(
      `(filled ${EVENTS.toLocaleString("en-US")} events in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s)`,
    );

    const rebuildStarted = performance.now();
    const report = rebuildProjections(kg.db.sql, allProjections(kg.db.sql));
    const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
    figures.push({
      name: `rebuild all projections (${report.events.toLocaleString("en-US")} events)`,
      value: report.events / rebuildSeconds,
      unit: "events/s",
      target: { value: 200_000, better: "higher" },
    });
    kg.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    kg.close();

    figures.push({
      name: `serve → /readyz 200 (${(EVENTS - 1).toLocaleString("en-US")} keys)`,
      value: await timeToReady(dbPath),
      unit: "ms",
      target: { value: 1000, better: "lower" },
    });
    return figures;
  },
};

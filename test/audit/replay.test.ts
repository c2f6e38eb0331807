import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { replayAndCompare } from "../../src/audit/replay.ts";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { idempotencyScopeKey } from "../../src/projections/idempotency-results.ts";
import { recordResult } from "../support/idempotency.ts";
import { FakeClock, TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";
import { historyDatabase } from "./fixture.ts";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

const DAY = 24 * 3600;
/** Records a result for `key` at the clock's time (expiring a day later). */
function record(kg: ReturnType<typeof testKeygate>, entityId: string, key: string) {
  return recordResult(kg, { entityId, scope: "live", key }, "f".repeat(64), '{"id":"ch_1"}');
}

describe("audit replay", () => {
  test("a result the sweep forgot after its window is no difference; one deleted behind the log still is", async () => {
    const path = join(tmp.dir, "swept.sqlite");
    const clock = new FakeClock();
    const kg = testKeygate({ path, clock });
    const { entityId } = initPlatform(kg, TEST_ACTOR) as { entityId: string };
    await record(kg, entityId, "order-0001");
    clock.advance(DAY);
    await record(kg, entityId, "order-0002");
    expect(await kg.idempotency.sweep()).toBe(1);
    kg.close();

    // The log still implies order-0001's row, expired: the live table rightly lacks it.
    const replay = () => replayAndCompare(path, { now: clock.now, scratchDir: tmp.dir });
    expect(replay().differences).toEqual([]);

    // order-0002 is within its window: its row deleted behind the log is a difference.
    const db = new Database(path);
    db.query("DELETE FROM idempotency_results WHERE scope_key = ?").run(
      idempotencyScopeKey(entityId, "live", "order-0002"),
    );
    db.close();
    const { differences } = replay();
    expect(differences.map((d) => d.table)).toEqual(["idempotency_results"]);
    expect(differences[0]?.onlyInReplay).toHaveLength(1);
    expect(differences[0]?.onlyInLive).toEqual([]);
  });

  test("reads the clock once the log is copied: a sweep the copy saw ran no later", async () => {
    const path = join(tmp.dir, "raced.sqlite");
    const clock = new FakeClock();
    const kg = testKeygate({ path, clock });
    const { entityId } = initPlatform(kg, TEST_ACTOR) as { entityId: string };
    await record(kg, entityId, "order-0001");
    clock.advance(DAY);
    expect(await kg.idempotency.sweep()).toBe(1);
    kg.close();
    // The replay starts a second before the sweep ran; the second passes while it copies.
    clock.advance(-1);
    const report = replayAndCompare(path, {
      now: clock.now,
      scratchDir: tmp.dir,
      onLogCopied: () => clock.advance(1),
    });
    expect(report.differences).toEqual([]);
  });

  test("compares the live tables as they were when the log was copied, whatever is written meanwhile", async () => {
    const history = await historyDatabase(tmp.dir, "busy", { checkpoint: false });
    let written = "";
    const report = replayAndCompare(history.path, {
      now: () => new Date(),
      scratchDir: tmp.dir,
      onLogCopied() {
        // A server on the same file creating a key while the replay runs.
        const server = testKeygate({ path: history.path });
        const platform = server.db.sql
          .prepare<{ id: string }>("SELECT id FROM entities WHERE kind = 'platform'")
          .get() as { id: string };
        written = createApiKey(
          server,
          { entityId: platform.id, environment: "live", name: "meanwhile", scopes: ["*"] },
          TEST_ACTOR,
        ).id;
        server.close();
      },
    });
    expect(written).toStartWith("key_");
    expect(report.events).toBe(history.events);
    expect(report.differences).toEqual([]);
    // The next replay sees the key, in the log and the tables alike.
    const next = replayAndCompare(history.path, { now: () => new Date(), scratchDir: tmp.dir });
    expect(next.events).toBe(history.events + 1);
    expect(next.differences).toEqual([]);
  });
});

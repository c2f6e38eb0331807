/**
 * A group commit when SQLite ends the transaction itself. On some errors — a full disk, an I/O
 * error, out of memory — SQLite rolls back the whole transaction, savepoints and all, not just
 * the failing statement. What the batch had written is then gone, and anything run after it
 * would commit on its own, outside the batch. The store must refuse the whole batch, tell every
 * caller that nothing was written, and tell the listeners (the key index) nothing.
 *
 * Run on both drivers: bun:sqlite, and node:sqlite (Deno's; Bun has it too).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { KeygateEvent } from "../../events/index.ts";
import { openDriver as openBun } from "../../src/db/bun-sqlite.ts";
import type { DriverConnection } from "../../src/db/driver.ts";
import { applyMigrations } from "../../src/db/migrate.ts";
import { openDriver as openNode } from "../../src/db/node-sqlite.ts";
import { CommitFailedError } from "../../src/store/commit-failed-error.ts";
import { EventStore } from "../../src/store/event-store.ts";
import { STREAM_DOES_NOT_EXIST } from "../../src/store/expected-version.ts";
import { canonicalJson, chainHash, GENESIS_HASH } from "../../src/store/hash-chain.ts";
import { TEST_ACTOR, tempDir } from "../support/keygate.ts";

const created = (id: string): KeygateEvent => ({
  type: "entity.created",
  data: {
    entity_id: id,
    kind: "merchant",
    name: `Shop ${"x".repeat(190)}`,
    parent_id: null,
    reference: null,
  },
});
const fresh = { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR } as const;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A migrated database file in WAL mode, opened with `open`, and a store over it. */
function storeOn(open: (path: string) => DriverConnection) {
  const { dir, remove } = tempDir();
  const db = open(join(dir, "lost.sqlite"));
  cleanups.push(remove, () => db.close());
  db.sql.exec("PRAGMA journal_mode = WAL");
  applyMigrations(db.orm);
  const store = new EventStore(db.sql);
  const heard: number[] = [];
  store.subscribe((events) => heard.push(...events.map((e) => e.position)));
  return { sql: db.sql, store, heard };
}

/** Every event of the log chains to the one before it, from the genesis value, with no gap. */
function expectIntactChain(store: EventStore): void {
  let prev = GENESIS_HASH;
  for (const [i, event] of store.readAll({ limit: 100_000 }).entries()) {
    expect(event.position).toBe(i + 1);
    expect(event.prevHash).toBe(prev);
    const fields = {
      position: event.position,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      type: event.type,
      schemaVersion: event.schemaVersion,
      data: canonicalJson(event.data),
      metadata: canonicalJson(event.metadata),
      recordedAt: event.recordedAt,
    };
    expect(event.hash).toBe(chainHash(prev, fields));
    prev = event.hash;
  }
}

const DRIVERS: [string, (path: string) => DriverConnection][] = [
  ["bun:sqlite", openBun],
  ["node:sqlite", openNode],
];

for (const [driver, open] of DRIVERS) {
  describe(`a batch whose transaction SQLite ends itself (${driver})`, () => {
    test("is refused whole: no caller's work is written, every caller is told so, no listener hears of it", async () => {
      const { sql, store, heard } = storeOn(open);
      await store.appendToStreamGrouped("ent_before", [created("ent_before")], fresh);
      // The middle unit ends the transaction as SQLite does on a full disk: ROLLBACK, all of it.
      const outcomes = await Promise.allSettled([
        store.appendToStreamGrouped("ent_a", [created("ent_a")], fresh),
        store.atomicallyGrouped(() => {
          store.appendToStream("ent_b", [created("ent_b")], fresh);
          sql.exec("ROLLBACK");
          throw new Error("database or disk is full");
        }),
        store.appendToStreamGrouped("ent_c", [created("ent_c")], fresh),
      ]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        const reason = (outcome as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(CommitFailedError);
        expect(reason.message).toContain("nothing was changed");
      }
      expect(store.readAll().map((e) => e.streamId)).toEqual(["ent_before"]);
      expect(heard).toEqual([1]);
      expect(sql.inTransaction()).toBe(false);

      // The store goes on: the next append chains to the last committed event.
      const next = await store.appendToStreamGrouped("ent_after", [created("ent_after")], fresh);
      expect(next.lastPosition).toBe(2);
      expect(heard).toEqual([1, 2]);
      expectIntactChain(store);
    });

    test("a unit that swallowed SQLite's error and went on is refused with the rest", async () => {
      const { sql, store, heard } = storeOn(open);
      const outcomes = await Promise.allSettled([
        store.atomicallyGrouped(() => {
          store.appendToStream("ent_a", [created("ent_a")], fresh);
          sql.exec("ROLLBACK");
        }),
        store.appendToStreamGrouped("ent_b", [created("ent_b")], fresh),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
      expect(store.headPosition()).toBe(0);
      expect(heard).toEqual([]);
    });

    test("on a real full disk, what a caller is told is what the log holds", async () => {
      const { sql, store, heard } = storeOn(open);
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.appendToStreamGrouped(`ent_w${i}`, [created(`ent_w${i}`)], fresh),
        ),
      );
      // The file may not grow: the first write that needs a new page fails with SQLITE_FULL.
      const pages = sql.prepare<{ page_count: number }>("PRAGMA page_count").get()?.page_count;
      sql.exec(`PRAGMA max_page_count = ${pages}`);
      const ids = Array.from({ length: 60 }, (_, i) => `ent_${i}`);
      const outcomes = await Promise.allSettled(
        ids.map((id) => store.appendToStreamGrouped(id, [created(id)], fresh)),
      );
      const refused = ids.filter((_, i) => outcomes[i]?.status === "rejected");
      expect(refused.length).toBeGreaterThan(0);
      for (const outcome of outcomes)
        if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(CommitFailedError);
      const logged = store.readAll({ limit: 1000 }).map((e) => e.streamId);
      for (const id of ids) expect(logged.includes(id)).toBe(!refused.includes(id));
      expect(heard).toEqual(store.readAll({ limit: 1000 }).map((e) => e.position));

      sql.exec("PRAGMA max_page_count = 1000000");
      await Promise.all(refused.map((id) => store.appendToStreamGrouped(id, [created(id)], fresh)));
      expect(store.headPosition()).toBe(65);
      expectIntactChain(store);
    });
  });
}

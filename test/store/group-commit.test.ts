import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { KeygateEvent } from "../../events/index.ts";
import { type KeygateDatabase, openDatabase } from "../../src/db/open.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { EventStore } from "../../src/store/event-store.ts";
import { STREAM_DOES_NOT_EXIST } from "../../src/store/expected-version.ts";
import type { InlineProjection } from "../../src/store/recorded-event.ts";
import { TEST_ACTOR, tempDir } from "../support/keygate.ts";

const created = (id: string, name = "Acme"): KeygateEvent => ({
  type: "entity.created",
  data: { entity_id: id, kind: "merchant", name, parent_id: null, reference: null },
});
const fresh = { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR } as const;

const opened: KeygateDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});
function open(path = ":memory:"): KeygateDatabase {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}

describe("appendToStreamGrouped (group commit)", () => {
  test("appends queued in one turn share one commit and all settle after it", async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "group.sqlite");
      const writer = open(path);
      const observer = open(path);
      const store = new EventStore(writer.sql);
      const before = observer.sql.dataVersion();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          store.appendToStreamGrouped(`ent_${i}`, [created(`ent_${i}`)], fresh),
        ),
      );
      expect(results.map((r) => r.lastPosition)).toEqual(
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      // Another connection saw exactly one commit for the hundred appends.
      expect(observer.sql.dataVersion()).toBe(before + 1);
      expect(new EventStore(observer.sql).headPosition()).toBe(100);
    } finally {
      for (const db of opened.splice(0)) db.close();
      remove();
    }
  });

  test("a conflicting append in the batch is refused alone; the others commit", async () => {
    const store = new EventStore(open().sql);
    const outcomes = await Promise.allSettled([
      store.appendToStreamGrouped("ent_a", [created("ent_a")], fresh),
      store.appendToStreamGrouped("ent_a", [created("ent_a", "again")], fresh),
      store.appendToStreamGrouped("ent_b", [created("ent_b")], fresh),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const reason = (outcomes[1] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(KeygateError);
    expect((reason as KeygateError).code).toBe("resource_conflict");
    expect(store.readAll().map((e) => e.streamId)).toEqual(["ent_a", "ent_b"]);
    expect(store.readStream("ent_a")[0]?.data).toMatchObject({ name: "Acme" });
  });

  test("a projection failure rolls back only that append, projection rows included", async () => {
    const db = open();
    db.sql.exec("CREATE TABLE seen (id TEXT)");
    const picky: InlineProjection = {
      name: "picky",
      version: 1,
      tables: ["seen"],
      apply: (e) => {
        db.sql.prepare("INSERT INTO seen (id) VALUES (?)").run(e.streamId);
        if (e.streamId === "ent_bad") throw new Error("refused by projection");
      },
    };
    const store = new EventStore(db.sql, { projections: [picky] });
    const heard: string[] = [];
    store.subscribe((events) => heard.push(...events.map((e) => e.streamId)));
    const outcomes = await Promise.allSettled(
      ["ent_1", "ent_bad", "ent_2"].map((id) =>
        store.appendToStreamGrouped(id, [created(id)], fresh),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(db.sql.prepare("SELECT id FROM seen ORDER BY id").all()).toEqual([
      { id: "ent_1" },
      { id: "ent_2" },
    ]);
    expect(heard).toEqual(["ent_1", "ent_2"]);
    // The chain has no gap where the refused append was.
    const [first, second] = store.readAll();
    expect(second?.position).toBe(2);
    expect(second?.prevHash).toBe(first?.hash as string);
  });

  test("appends queued in later turns form later commits, in order", async () => {
    const store = new EventStore(open().sql);
    const first = await store.appendToStreamGrouped("ent_a", [created("ent_a")], fresh);
    const second = await store.appendToStreamGrouped("ent_b", [created("ent_b")], fresh);
    expect([first.lastPosition, second.lastPosition]).toEqual([1, 2]);
  });
});

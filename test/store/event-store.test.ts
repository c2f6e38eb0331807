import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { currentSchemaVersion, type KeygateEvent, upcastStoredEvent } from "../../events/index.ts";
import { type KeygateDatabase, openDatabase } from "../../src/db/open.ts";
import { type EventRow, EventStore } from "../../src/store/event-store.ts";
import {
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from "../../src/store/expected-version.ts";
import { canonicalJson, chainHash, GENESIS_HASH } from "../../src/store/hash-chain.ts";
import type { InlineProjection, RecordedEvent } from "../../src/store/recorded-event.ts";
import { FakeClock, keygateErrorOf, TEST_ACTOR, tempDir } from "../support/keygate.ts";

const created = (id: string, name = "Acme"): KeygateEvent => ({
  type: "entity.created",
  data: { entity_id: id, kind: "merchant", name, parent_id: null, reference: null },
});
const deactivated = (id: string): KeygateEvent => ({
  type: "entity.deactivated",
  data: { entity_id: id, by_entity_id: null },
});

const opened: KeygateDatabase[] = [];
function open(path = ":memory:"): KeygateDatabase {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

describe("appendToStream expected versions", () => {
  test("STREAM_DOES_NOT_EXIST accepts a new stream and refuses an existing one", () => {
    const store = new EventStore(open().sql);
    const opts = { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR } as const;
    expect(store.appendToStream("ent_a", [created("ent_a")], opts).nextExpectedStreamVersion).toBe(
      1,
    );
    expect(
      keygateErrorOf(() => store.appendToStream("ent_a", [deactivated("ent_a")], opts)).code,
    ).toBe("resource_conflict");
    expect(store.readStream("ent_a")).toHaveLength(1);
  });

  test("STREAM_EXISTS refuses a missing stream and accepts an existing one", () => {
    const store = new EventStore(open().sql);
    const exists = { expectedStreamVersion: STREAM_EXISTS, metadata: TEST_ACTOR } as const;
    expect(
      keygateErrorOf(() => store.appendToStream("ent_a", [created("ent_a")], exists)).code,
    ).toBe("resource_conflict");
    store.appendToStream("ent_a", [created("ent_a")], {
      expectedStreamVersion: 0,
      metadata: TEST_ACTOR,
    });
    expect(
      store.appendToStream("ent_a", [deactivated("ent_a")], exists).nextExpectedStreamVersion,
    ).toBe(2);
  });

  test("a number must equal the current version (0 = empty stream); a stale one is refused", () => {
    const store = new EventStore(open().sql);
    const at = (v: number) => ({ expectedStreamVersion: v, metadata: TEST_ACTOR });
    expect(
      keygateErrorOf(() => store.appendToStream("ent_a", [created("ent_a")], at(1))).message,
    ).toMatch(/at version none, expected 1/);
    store.appendToStream("ent_a", [created("ent_a")], at(0));
    store.appendToStream("ent_a", [deactivated("ent_a")], at(1));
    const stale = keygateErrorOf(() =>
      store.appendToStream("ent_a", [deactivated("ent_a")], at(1)),
    );
    expect(stale.code).toBe("resource_conflict");
    expect(stale.message).toMatch(/at version 2, expected 1/);
    expect(store.streamVersion("ent_a")).toBe(2);
  });

  test("NO_CONCURRENCY_CHECK appends whatever the version", () => {
    const store = new EventStore(open().sql);
    const any = { expectedStreamVersion: NO_CONCURRENCY_CHECK, metadata: TEST_ACTOR } as const;
    store.appendToStream("ent_a", [created("ent_a")], any);
    store.appendToStream("ent_a", [deactivated("ent_a")], any);
    expect(store.readStream("ent_a").map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  test("two connections racing on one stream: the second append with the same expected version is refused", () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "race.sqlite");
      const a = new EventStore(open(path).sql);
      const b = new EventStore(open(path).sql);
      a.appendToStream("ent_a", [created("ent_a")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      });
      // Both writers loaded version 1.
      const versionSeenByA = a.streamVersion("ent_a") as number;
      const versionSeenByB = b.streamVersion("ent_a") as number;
      a.appendToStream("ent_a", [deactivated("ent_a")], {
        expectedStreamVersion: versionSeenByA,
        metadata: TEST_ACTOR,
      });
      const refused = keygateErrorOf(() =>
        b.appendToStream("ent_a", [deactivated("ent_a")], {
          expectedStreamVersion: versionSeenByB,
          metadata: TEST_ACTOR,
        }),
      );
      expect(refused.code).toBe("resource_conflict");
      expect(b.readStream("ent_a").map((e) => e.streamVersion)).toEqual([1, 2]);
      expect(b.headPosition()).toBe(2);
    } finally {
      for (const db of opened.splice(0)) db.close();
      remove();
    }
  });
});

describe("one transaction", () => {
  test("when a projection throws, no event, stream row or projection change is written", () => {
    const db = open();
    db.sql.exec("CREATE TABLE seen (id TEXT)");
    const recorder: InlineProjection = {
      name: "recorder",
      version: 1,
      tables: ["seen"],
      apply: (e) => {
        db.sql.prepare("INSERT INTO seen (id) VALUES (?)").run(e.streamId);
      },
    };
    const failing: InlineProjection = {
      name: "failing",
      version: 1,
      tables: [],
      apply: (e) => {
        if (e.type === "entity.deactivated") throw new Error("projection failed");
      },
    };
    const store = new EventStore(db.sql, { projections: [recorder, failing] });
    store.appendToStream("ent_a", [created("ent_a")], {
      expectedStreamVersion: 0,
      metadata: TEST_ACTOR,
    });
    expect(() =>
      store.appendToStream("ent_b", [created("ent_b"), deactivated("ent_b")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      }),
    ).toThrow("projection failed");
    expect(store.headPosition()).toBe(1);
    expect(store.streamVersion("ent_b")).toBeUndefined();
    expect(db.sql.prepare("SELECT id FROM seen").all()).toEqual([{ id: "ent_a" }]);
  });

  test("data that fails its schema is refused before anything is written", () => {
    const store = new EventStore(open().sql);
    const bad = {
      type: "entity.created",
      data: { entity_id: "ent_a", kind: "galaxy", name: "x", parent_id: null, reference: null },
    } as unknown as KeygateEvent;
    expect(() =>
      store.appendToStream("ent_a", [bad], { expectedStreamVersion: 0, metadata: TEST_ACTOR }),
    ).toThrow(/entity.created v2: \/kind/);
    expect(store.headPosition()).toBe(0);
  });

  test("subscribers hear committed appends only", () => {
    const store = new EventStore(open().sql);
    const heard: number[] = [];
    store.subscribe((events) => heard.push(...events.map((e) => e.position)));
    store.appendToStream("ent_a", [created("ent_a")], {
      expectedStreamVersion: 0,
      metadata: TEST_ACTOR,
    });
    expect(() =>
      store.appendToStream("ent_a", [created("ent_a")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      }),
    ).toThrow();
    expect(heard).toEqual([1]);
  });
});

describe("atomicallyGrouped: several appends, one unit of a group commit", () => {
  const append = (store: EventStore, id: string) =>
    store.appendToStream(id, [created(id)], { expectedStreamVersion: 0, metadata: TEST_ACTOR });

  test("what a unit appends commits together; subscribers hear it once, after the commit", async () => {
    const store = new EventStore(open().sql);
    const heard: number[][] = [];
    store.subscribe((events) => heard.push(events.map((e) => e.position)));
    const done = store.atomicallyGrouped(() => {
      append(store, "ent_a");
      append(store, "ent_b");
      expect(heard).toEqual([]);
      return "value";
    });
    expect(store.headPosition()).toBe(0); // queued, not yet run
    expect(await done).toBe("value");
    expect(heard).toEqual([[1, 2]]);
    expect(store.headPosition()).toBe(2);
  });

  test("a unit that throws leaves nothing and is heard by no one; the others in its batch commit", async () => {
    const store = new EventStore(open().sql);
    const heard: string[] = [];
    store.subscribe((events) => heard.push(...events.map((e) => e.streamId)));
    const [before, failing, after] = await Promise.allSettled([
      store.atomicallyGrouped(() => append(store, "ent_a")),
      store.atomicallyGrouped(() => {
        append(store, "ent_b");
        throw new Error("the answer could not be recorded");
      }),
      store.atomicallyGrouped(() => append(store, "ent_c")),
    ]);
    expect([before.status, failing.status, after.status]).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(store.streamVersion("ent_b")).toBeUndefined();
    expect(heard).toEqual(["ent_a", "ent_c"]);
    expect(store.readAll().map((e) => [e.position, e.streamId])).toEqual([
      [1, "ent_a"],
      [2, "ent_c"],
    ]);
  });

  test("a batch redone because one unit failed runs the others again: each resolves with its second run's value", async () => {
    const store = new EventStore(open().sql);
    let runs = 0;
    const [ok, failed] = await Promise.allSettled([
      store.atomicallyGrouped(() => {
        runs += 1;
        append(store, "ent_a");
        return runs;
      }),
      store.atomicallyGrouped(() => {
        throw new Error("refused");
      }),
    ]);
    expect(runs).toBe(2);
    expect(ok).toEqual({ status: "fulfilled", value: 2 });
    expect(failed.status).toBe("rejected");
    expect(store.headPosition()).toBe(1);
  });

  test("units and plain grouped appends share one batch, and the chain runs through both", async () => {
    const store = new EventStore(open().sql);
    await Promise.all([
      store.appendToStreamGrouped("ent_a", [created("ent_a")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      }),
      store.atomicallyGrouped(() => append(store, "ent_b")),
      store.appendToStreamGrouped("ent_c", [created("ent_c")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      }),
    ]);
    const events = store.readAll();
    expect(events.map((e) => e.streamId)).toEqual(["ent_a", "ent_b", "ent_c"]);
    expect(events.map((e) => e.prevHash)).toEqual([
      GENESIS_HASH,
      ...events.slice(0, 2).map((e) => e.hash),
    ]);
  });
});

describe("the events table is append-only", () => {
  test("UPDATE and DELETE are refused by triggers", () => {
    const db = open();
    const store = new EventStore(db.sql);
    store.appendToStream("ent_a", [created("ent_a")], {
      expectedStreamVersion: 0,
      metadata: TEST_ACTOR,
    });
    expect(() => db.sql.exec("UPDATE events SET data = '{}' WHERE position = 1")).toThrow(
      /append-only: UPDATE refused/,
    );
    expect(() => db.sql.exec("DELETE FROM events")).toThrow(/append-only: DELETE refused/);
    expect(store.readAll()).toHaveLength(1);
  });
});

describe("hash chain", () => {
  test("every hash recomputes from genesis over the previous hash and the canonical event", () => {
    const clock = new FakeClock();
    const db = open();
    const store = new EventStore(db.sql, { now: clock.now });
    for (let i = 0; i < 20; i++) {
      clock.advance(1);
      store.appendToStream(
        `ent_${i}`,
        [created(`ent_${i}`, `Name ${i} ünïcødé "q"`), deactivated(`ent_${i}`)],
        {
          expectedStreamVersion: 0,
          metadata: { actor: "cli", request_id: `req_${i}` },
        },
      );
    }
    const rows = db.sql.prepare<EventRow>("SELECT * FROM events ORDER BY position").all();
    expect(rows).toHaveLength(40);
    let prev = GENESIS_HASH;
    rows.forEach((row, i) => {
      expect(row.position).toBe(i + 1);
      expect(row.prev_hash).toBe(prev);
      const recomputed = chainHash(prev, {
        position: row.position,
        streamId: row.stream_id,
        streamVersion: row.stream_version,
        type: row.type,
        schemaVersion: row.schema_version,
        data: canonicalJson(JSON.parse(row.data)),
        metadata: canonicalJson(JSON.parse(row.metadata)),
        recordedAt: row.recorded_at,
      });
      expect(row.hash).toBe(recomputed);
      prev = row.hash;
    });
  });

  test("the chain continues across connections to the same file", () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "chain.sqlite");
      const a = new EventStore(open(path).sql);
      const b = new EventStore(open(path).sql);
      a.appendToStream("ent_a", [created("ent_a")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      });
      b.appendToStream("ent_b", [created("ent_b")], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      });
      const [first, second] = a.readAll();
      expect(second?.position).toBe(2);
      expect(second?.prevHash).toBe(first?.hash as string);
    } finally {
      for (const db of opened.splice(0)) db.close();
      remove();
    }
  });
});

describe("reading", () => {
  test("readStream, readAll pages and iterateAll agree", () => {
    const store = new EventStore(open().sql);
    for (let i = 0; i < 5; i++) {
      store.appendToStream(`ent_${i}`, [created(`ent_${i}`)], {
        expectedStreamVersion: 0,
        metadata: TEST_ACTOR,
      });
    }
    expect(store.readAll({ after: 1, limit: 2 }).map((e) => e.position)).toEqual([2, 3]);
    expect([...store.iterateAll(3)].map((e) => e.position)).toEqual([4, 5]);
    const [only] = store.readStream("ent_2");
    expect(only?.type).toBe("entity.created");
    expect(only?.metadata).toEqual(TEST_ACTOR);
  });

  test("an older schema version is upcast on read, not a crash", () => {
    const db = open();
    const store = new EventStore(db.sql);
    // Write an entity.created v1 (before `reference` existed) exactly as an old release did.
    const data = canonicalJson({
      entity_id: "ent_old",
      kind: "partner",
      name: "Legacy",
      parent_id: null,
    });
    const metadata = canonicalJson(TEST_ACTOR);
    const fields = {
      position: 1,
      streamId: "ent_old",
      streamVersion: 1,
      type: "entity.created",
      schemaVersion: 1,
      data,
      metadata,
      recordedAt: "2025-01-01T00:00:00.000Z",
    };
    db.sql
      .prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(
        1,
        "ent_old",
        1,
        "entity.created",
        1,
        data,
        metadata,
        fields.recordedAt,
        GENESIS_HASH,
        chainHash(GENESIS_HASH, fields),
      );
    const [event] = store.readStream("ent_old") as [RecordedEvent];
    expect(event.schemaVersion).toBe(1);
    expect(event.data).toEqual({
      entity_id: "ent_old",
      kind: "partner",
      name: "Legacy",
      parent_id: null,
      reference: null,
    });
  });

  test("an entity.deactivated v1 (before by_entity_id) reads as the operator's: only the top may undo it", () => {
    expect(upcastStoredEvent("entity.deactivated", 1, { entity_id: "ent_old" })).toEqual({
      entity_id: "ent_old",
      by_entity_id: null,
    });
    expect(currentSchemaVersion("entity.deactivated")).toBe(2);
  });

  test("stored data that fails its schema, or an unknown version, is reported, not served", () => {
    const db = open();
    const store = new EventStore(db.sql);
    const insert = db.sql.prepare(
      "INSERT INTO events VALUES (?, ?, 1, 'entity.created', ?, ?, '{}', 't', 'p', 'h')",
    );
    insert.run(1, "ent_x", 7, canonicalJson({ entity_id: "ent_x" }));
    expect(() => store.readStream("ent_x")).toThrow(/entity.created has no schema version 7/);
    insert.run(2, "ent_y", 2, canonicalJson({ entity_id: "ent_y" }));
    expect(() => store.readStream("ent_y")).toThrow(/entity.created v2/);
  });
});

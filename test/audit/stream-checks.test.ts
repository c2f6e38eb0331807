/**
 * The per-stream checks of `audit verify` (src/audit/stream-checks.ts) on logs of more
 * streams than one batch reads, written straight into the tables: the merge of the events
 * index with the streams table must hold across batch boundaries, name the problem that
 * shows first, and order stream ids as SQLite does.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { codePointOrder, streamProblem } from "../../src/audit/stream-checks.ts";
import { type KeygateDatabase, openDatabase } from "../../src/db/open.ts";

let db: KeygateDatabase;
afterEach(() => db?.close());

/**
 * The stream problem of a log of `events`, appended in turn as `[stream, version]` pairs
 * (positions 1, 2, 3…), with `table` as the streams table.
 */
function problemOf(events: [string, number][], table = tableOf(events)) {
  db = openDatabase(":memory:");
  db.sql.exec("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;");
  const insert = db.sql.prepare(
    "INSERT INTO events (position, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, 'entity.created', 1, '{}', '{}', '', '', '')",
  );
  const row = db.sql.prepare(
    "INSERT INTO streams (stream_id, version, updated_at) VALUES (?, ?, '')",
  );
  db.sql.exec("BEGIN");
  for (const [i, [stream, version]] of events.entries()) insert.run(i + 1, stream, version);
  for (const [stream, version] of table) row.run(stream, version);
  db.sql.exec("COMMIT");
  return streamProblem(db.sql, events.length);
}

/** The streams table an intact log has: each stream's last version. */
function tableOf(events: [string, number][]): Map<string, number> {
  return new Map(events);
}

/** Where event `version` of `stream` sits in `events` (its position is one more). */
function indexOf(events: [string, number][], stream: string, version: number): number {
  return events.findIndex(([s, v]) => s === stream && v === version);
}

/** 9,000 streams (two batches and more), of one to three events each, interleaved in the log. */
function manyStreams(): [string, number][] {
  const events: [string, number][] = [];
  for (let round = 1; round <= 3; round++)
    for (let i = 0; i < 9_000; i++)
      if (i % 3 >= round - 1) events.push([`key_${String(i).padStart(5, "0")}`, round]);
  return events;
}

describe("stream checks over many batches", () => {
  test("an intact log of 9,000 streams has no problem", () => {
    expect(problemOf(manyStreams())).toBeUndefined();
  });

  test("a version missing from a stream past the first batch is named at its position", () => {
    const events = manyStreams();
    const at = indexOf(events, "key_08000", 2);
    events[at] = ["key_08000", 5];
    expect(problemOf(events, tableOf(manyStreams()))).toEqual({
      position: at + 1,
      problem: "stream key_08000 is at version 5 where 2 was due",
    });
  });

  test("two versions swapped in the log: the first out of place is named", () => {
    const events = manyStreams();
    const first = indexOf(events, "key_07001", 2);
    const second = indexOf(events, "key_07001", 3);
    [events[first], events[second]] = [
      events[second] as [string, number],
      events[first] as [string, number],
    ];
    expect(problemOf(events, tableOf(manyStreams()))).toEqual({
      position: first + 1,
      problem: "stream key_07001 is at version 3 where 2 was due",
    });
  });

  test("of two broken streams, the one broken earlier in the log is named, whatever its id", () => {
    const events = manyStreams();
    const late = indexOf(events, "key_00002", 3);
    const early = indexOf(events, "key_08999", 1);
    events[late] = ["key_00002", 4];
    events[early] = ["key_08999", 7];
    expect(early).toBeLessThan(late);
    expect(problemOf(events, tableOf(manyStreams()))).toEqual({
      position: early + 1,
      problem: "stream key_08999 is at version 7 where 1 was due",
    });
  });

  test("a broken stream outranks a streams-table problem found before it", () => {
    const events = manyStreams();
    const table = tableOf(events);
    table.set("key_00000", 9);
    const at = indexOf(events, "key_05000", 1);
    events[at] = ["key_05000", 7];
    expect(problemOf(events, table)?.problem).toBe(
      "stream key_05000 is at version 7 where 1 was due",
    );
  });

  test("a stream missing from the table, past the first batch", () => {
    const events = manyStreams();
    const table = tableOf(events);
    table.delete("key_06000");
    expect(problemOf(events, table)).toEqual({
      position: events.length,
      problem: "stream key_06000 has events but no row in the streams table",
    });
  });

  test.each(["key_04000a", "key_99999"])(
    "a row for %s, a stream with no events (between two streams; after the last)",
    (ghost) => {
      const events = manyStreams();
      const table = tableOf(events);
      table.set(ghost, 2);
      expect(problemOf(events, table)).toEqual({
        position: events.length + 1,
        problem: `stream ${ghost} has 0 events in the log but the streams table says 2`,
      });
    },
  );

  test("a table version behind its stream", () => {
    const events = manyStreams();
    const table = tableOf(events);
    table.set("key_08999", 2);
    expect(problemOf(events, table)).toEqual({
      position: events.length + 1,
      problem: "stream key_08999 has 3 events in the log but the streams table says 2",
    });
  });
});

describe("stream ids ordered as SQLite orders them", () => {
  const ids = ["key_a", "key_\u{1F600}", "key_\uFFFD", "key_\uE000", "key_z", "key_", "key_\u00E9"];

  test("codePointOrder sorts as SQLite's ORDER BY does", () => {
    db = openDatabase(":memory:");
    const sorted = db.sql
      .prepare<{ id: string }>(
        `SELECT column1 AS id FROM (VALUES ${ids.map(() => "(?)").join(",")}) ORDER BY column1`,
      )
      .all(...ids)
      .map((row) => row.id);
    expect([...ids].sort(codePointOrder)).toEqual(sorted);
    // JavaScript's own order puts U+1F600 (a surrogate pair) before U+E000 and U+FFFD.
    expect([...ids].sort()).not.toEqual(sorted);
  });

  test("the problem that comes first in SQLite's order is the one named", () => {
    // "\uFFFD" sorts before "\u{1F600}" in SQLite; the stream in the log lacks its row, and the
    // row of a stream with no events sorts after it.
    expect(problemOf([["key_\uFFFD", 1]], new Map([["key_\u{1F600}", 1]]))).toEqual({
      position: 1,
      problem: "stream key_\uFFFD has events but no row in the streams table",
    });
  });
});

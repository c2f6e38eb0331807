/**
 * `keygate audit verify` against a real database file tampered with the way an attacker with
 * the file would: the append-only triggers dropped, then a byte changed, an event deleted,
 * the tail truncated, two events swapped, or history forged with a recomputed chain.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import {
  type Checkpoint,
  checkpointMessage,
  latestCheckpoint,
} from "../../src/audit/checkpoints.ts";
import { type VerifyOptions, verifyLog, verifyLogInParallel } from "../../src/audit/verify.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { openDatabase } from "../../src/db/open.ts";
import type { EventRow } from "../../src/store/event-store.ts";
import { canonicalJson, chainHash, GENESIS_HASH } from "../../src/store/hash-chain.ts";
import { TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";
import { historyDatabase } from "./fixture.ts";

const tmp = tempDir();
afterAll(tmp.remove);
let serial = 0;

/** A fresh history, tampered by `attack` with the triggers out of the way. */
async function tampered(attack: (db: Database) => void, options: { checkpoint?: boolean } = {}) {
  const history = await historyDatabase(tmp.dir, `h${serial++}`, options);
  const db = new Database(history.path);
  db.exec("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;");
  db.exec("DROP TRIGGER checkpoints_no_update; DROP TRIGGER checkpoints_no_delete;");
  attack(db);
  db.close();
  return history;
}

/**
 * Verifies on this thread, and again with the log split between two worker threads (as
 * `keygate audit verify` does with a long log): both must give the same report.
 */
async function verify(path: string, options: VerifyOptions = {}) {
  const db = openDatabase(path);
  try {
    const sequential = verifyLog(db.sql, options);
    const split = await verifyLogInParallel(path, db.sql, {
      ...options,
      workers: 2,
      minEventsPerWorker: 1,
    });
    expect(split).toEqual(sequential);
    return sequential;
  } finally {
    db.close();
  }
}

/** A stored event's hash by the documented rule, as a forger with the file recomputes it. */
function rowHash(prevHash: string, row: EventRow): string {
  return chainHash(prevHash, {
    position: row.position,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  });
}

/** Cuts the log's last `count` events, and makes the streams table match, as a careful forger would. */
function truncateTail(db: Database, count: number): void {
  db.query("DELETE FROM events WHERE position > (SELECT max(position) - ? FROM events)").run(count);
  db.exec("DELETE FROM streams WHERE stream_id NOT IN (SELECT stream_id FROM events)");
  db.exec(
    "UPDATE streams SET version = (SELECT max(stream_version) FROM events e WHERE e.stream_id = streams.stream_id)",
  );
}

/** The database's latest checkpoint, as an auditor fetched and kept it. */
function keepCheckpoint(path: string): Checkpoint {
  const db = openDatabase(path);
  try {
    return latestCheckpoint(db.sql) as Checkpoint;
  } finally {
    db.close();
  }
}

/** Recomputes prev_hash and hash of every event from `from` on, as a forger would. */
function rechain(db: Database, from: number): void {
  const rows = db
    .query("SELECT * FROM events WHERE position >= ? ORDER BY position")
    .all(from) as EventRow[];
  let prev =
    from === 1
      ? GENESIS_HASH
      : (db.query("SELECT hash FROM events WHERE position = ?").get(from - 1) as { hash: string })
          .hash;
  for (const row of rows) {
    const hash = rowHash(prev, row);
    db.query("UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?").run(
      prev,
      hash,
      row.position,
    );
    prev = hash;
  }
}

describe("an intact log", () => {
  test("verifies: every event, the streams table, the signed checkpoint", async () => {
    const history = await historyDatabase(tmp.dir, "intact");
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: true, events: history.events });
    expect(report.ok && report.checkpoint?.size).toBe(history.events);
  });
});

describe("tampering is caught, at its position", () => {
  test("a changed byte in an event", async () => {
    const history = await tampered((db) =>
      db.exec(
        `UPDATE events SET data = replace(data, '"Partner"', '"Partnes"') WHERE position = 4`,
      ),
    );
    expect(await verify(history.path)).toMatchObject({
      ok: false,
      position: 4,
      problem: "the stored hash is not the hash of the stored event",
    });
  });

  test("a changed byte in the metadata or the time", async () => {
    const history = await tampered((db) =>
      db.exec(
        `UPDATE events SET recorded_at = replace(recorded_at, '2026', '2025') WHERE position = 6`,
      ),
    );
    expect(await verify(history.path)).toMatchObject({ ok: false, position: 6 });
  });

  test("a deleted event", async () => {
    const history = await tampered((db) => db.exec("DELETE FROM events WHERE position = 3"));
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: 3 });
    expect(!report.ok && report.problem).toContain("missing");
  });

  test("a truncated tail, the streams table made to match: the checkpoint still vouches for more", async () => {
    const history = await tampered((db) => truncateTail(db, 2));
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: history.events - 1 });
    expect(!report.ok && report.problem).toContain("tail is gone");
  });

  test("two events swapped", async () => {
    const history = await tampered((db) => {
      const [a, b] = db
        .query("SELECT * FROM events WHERE position IN (5, 6) ORDER BY position")
        .all() as EventRow[];
      const put = db.query(
        "UPDATE events SET stream_id = ?, stream_version = ?, type = ?, schema_version = ?, data = ?, metadata = ?, recorded_at = ?, prev_hash = ?, hash = ? WHERE position = ?",
      );
      if (!a || !b) throw new Error("expected two rows");
      // Out of the unique (stream, version) index's way first, as a forger would.
      db.exec("UPDATE events SET stream_id = 'moving' WHERE position = 5");
      for (const [row, at] of [
        [a, 6],
        [b, 5],
      ] as const) {
        put.run(
          row.stream_id,
          row.stream_version,
          row.type,
          row.schema_version,
          row.data,
          row.metadata,
          row.recorded_at,
          row.prev_hash,
          row.hash,
          at,
        );
      }
    });
    expect(await verify(history.path)).toMatchObject({ ok: false, position: 5 });
  });

  test("a forged event with the whole chain recomputed: caught by the signed checkpoint", async () => {
    const history = await tampered((db) => {
      const row = db
        .query(
          "SELECT position, data FROM events WHERE type = 'api_key.created' ORDER BY position DESC",
        )
        .get() as { position: number; data: string };
      const data = JSON.parse(row.data);
      data.name = "forged";
      db.query("UPDATE events SET data = ? WHERE position = ?").run(
        canonicalJson(data),
        row.position,
      );
      rechain(db, row.position);
    });
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: history.events });
    expect(!report.ok && report.problem).toContain("signed checkpoint");
  });

  test("the forger re-signs with a key of their own: not the deployment's key", async () => {
    const history = await tampered((db) => {
      const head = db
        .query("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        .get() as {
        position: number;
        hash: string;
      };
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const unsigned = {
        size: head.position,
        head_hash: head.hash,
        created_at: new Date().toISOString(),
      };
      db.query(
        "INSERT INTO checkpoints (size, head_hash, created_at, public_key, signature) VALUES (?, ?, ?, ?, ?)",
      ).run(
        head.position,
        head.hash,
        unsigned.created_at,
        publicKey.export({ type: "spki", format: "der" }).toString("base64"),
        sign(null, Buffer.from(checkpointMessage(unsigned)), privateKey).toString("base64"),
      );
    });
    const db = openDatabase(history.path);
    try {
      const trusted = verifyLog(db.sql, { trustedPublicKey: "not-this-one" });
      expect(trusted).toMatchObject({ ok: false });
      expect(!trusted.ok && trusted.problem).toContain("not the trusted one");
    } finally {
      db.close();
    }
  });

  test("a checkpoint whose signature was altered", async () => {
    const history = await tampered((db) => db.exec("UPDATE checkpoints SET size = size + 1"));
    const report = await verify(history.path);
    expect(!report.ok && report.problem).toContain("signature is not valid");
  });

  test("an event rewritten off its schema, chain recomputed, no checkpoint yet", async () => {
    const history = await tampered(
      (db) => {
        db.exec(`UPDATE events SET data = '{"unexpected":true}' WHERE position = 2`);
        rechain(db, 2);
      },
      { checkpoint: false },
    );
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: 2 });
    expect(!report.ok && report.problem).toContain("schema");
  });

  test("a stream version out of order, chain recomputed", async () => {
    const history = await tampered(
      (db) => {
        db.exec("UPDATE events SET stream_version = 7 WHERE position = 5");
        rechain(db, 5);
      },
      { checkpoint: false },
    );
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: 5 });
    expect(!report.ok && report.problem).toContain("version");
  });
});

describe("a checkpoint the auditor kept", () => {
  /** A history whose checkpoint an auditor kept, then tampered with — its checkpoints deleted too. */
  async function keptThenTampered(attack: (db: Database) => void) {
    const history = await historyDatabase(tmp.dir, `h${serial++}`);
    const held = keepCheckpoint(history.path);
    const db = new Database(history.path);
    db.exec("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;");
    db.exec("DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints;");
    attack(db);
    db.close();
    return { ...history, held };
  }

  test("a tail cut along with the checkpoints that covered it: the log alone looks intact, the held checkpoint does not", async () => {
    const history = await keptThenTampered((db) => truncateTail(db, 2));
    expect(await verify(history.path)).toMatchObject({ ok: true, events: history.events - 2 });
    const report = await verify(history.path, { heldCheckpoint: history.held });
    expect(report).toMatchObject({ ok: false, position: history.events - 1 });
    expect(!report.ok && report.problem).toBe(
      `the log ends at ${history.events - 2} events but the held checkpoint vouched for ${history.events}: its tail is gone`,
    );
  });

  test("a history rewritten with a recomputed chain, the checkpoints gone: the held one names its head", async () => {
    const history = await keptThenTampered((db) => {
      db.exec(
        `UPDATE events SET data = replace(data, '"Partner"', '"Partnes"') WHERE position = 4`,
      );
      rechain(db, 4);
    });
    expect((await verify(history.path)).ok).toBe(true);
    expect(await verify(history.path, { heldCheckpoint: history.held })).toMatchObject({
      ok: false,
      position: history.events,
      problem: "the log differs from the held checkpoint at its head",
    });
  });

  test("an intact log that grew since: the held checkpoint still matches", async () => {
    const history = await historyDatabase(tmp.dir, `h${serial++}`);
    const held = keepCheckpoint(history.path);
    const kg = testKeygate({ path: history.path });
    const platform = kg.db.sql
      .prepare<{ id: string }>("SELECT id FROM entities WHERE kind = 'platform'")
      .get() as { id: string };
    createEntity(kg, { kind: "partner", name: "Later", parentId: platform.id }, TEST_ACTOR);
    kg.close();
    expect(await verify(history.path, { heldCheckpoint: held })).toMatchObject({
      ok: true,
      events: history.events + 1,
    });
  });

  test("a held checkpoint whose signature does not hold, or signed by another key, is refused", async () => {
    const history = await historyDatabase(tmp.dir, `h${serial++}`);
    const held = keepCheckpoint(history.path);
    const altered = await verify(history.path, {
      heldCheckpoint: { ...held, size: held.size - 1 },
    });
    expect(altered).toMatchObject({
      ok: false,
      problem: "the held checkpoint's signature is not valid",
    });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const forged = {
      ...held,
      public_key: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      signature: sign(null, Buffer.from(checkpointMessage(held)), privateKey).toString("base64"),
    };
    const report = await verify(history.path, {
      heldCheckpoint: forged,
      trustedPublicKey: held.public_key,
    });
    expect(report).toMatchObject({
      ok: false,
      problem: "the held checkpoint is signed with a key that is not the trusted one",
    });
  });
});

describe("the streams table is held to the log", () => {
  const SECOND_STREAM = "SELECT stream_id FROM streams ORDER BY stream_id LIMIT 1 OFFSET 1";

  test("a stream's version raised in the table", async () => {
    const history = await tampered((db) =>
      db.exec(`UPDATE streams SET version = version + 1 WHERE stream_id = (${SECOND_STREAM})`),
    );
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: history.events + 1 });
    expect(!report.ok && report.problem).toMatch(
      /has \d+ events in the log but the streams table says/,
    );
  });

  test("a stream's row deleted from the table", async () => {
    const history = await tampered((db) =>
      db.exec(`DELETE FROM streams WHERE stream_id = (${SECOND_STREAM})`),
    );
    const report = await verify(history.path);
    expect(report).toMatchObject({ ok: false, position: history.events });
    expect(!report.ok && report.problem).toContain("has events but no row in the streams table");
  });

  test("a row for a stream that has no events", async () => {
    const history = await tampered((db) =>
      db.exec(
        "INSERT INTO streams (stream_id, version, updated_at) VALUES ('key_ghost', 3, '2026-01-01T00:00:00.000Z')",
      ),
    );
    const report = await verify(history.path);
    expect(report).toMatchObject({
      ok: false,
      position: history.events + 1,
      problem: "stream key_ghost has 0 events in the log but the streams table says 3",
    });
  });
});

describe("a log verified in two halves", () => {
  test("a prev_hash changed where the halves join is caught at the join", async () => {
    const history = await historyDatabase(tmp.dir, `h${serial++}`);
    const join = Math.ceil(history.events / 2) + 1;
    const db = new Database(history.path);
    db.exec("DROP TRIGGER events_no_update");
    db.query("UPDATE events SET prev_hash = ? WHERE position = ?").run("f".repeat(64), join);
    db.close();
    const report = await verify(history.path);
    expect(report).toMatchObject({
      ok: false,
      position: join,
      problem: "prev_hash is not the previous event's hash",
    });
  });
});

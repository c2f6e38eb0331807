/**
 * The event store against a reference model, over seeded random rounds of appends on a few
 * streams. Each round queues group-commit appends and atomic units (several appends that stand
 * or fall together, sometimes thrown away at the end) for one shared commit, with plain
 * appends committed in between. Expected versions are drawn from all four modes, right or
 * stale; some appends carry an event the schema refuses or one an inline projection throws on.
 *
 * The model applies the same work in the same order — plain appends at once, the queued ones
 * in queue order at the commit — and every outcome must match it: which appends commit (and
 * at which position) and which are refused. After each round, the log, the stream versions,
 * the projection's rows and what the subscriber heard must all equal the model's; at the end
 * the whole chain verifies.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { KeygateEvent } from "../../events/index.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { type KeygateDatabase, openDatabase } from "../../src/db/open.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { EventStore } from "../../src/store/event-store.ts";
import {
  type ExpectedStreamVersion,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from "../../src/store/expected-version.ts";
import type { InlineProjection } from "../../src/store/recorded-event.ts";
import { TEST_ACTOR } from "../support/keygate.ts";
import { type Random, seededRandom } from "../support/random.ts";

const STREAMS = ["ent_a", "ent_b", "ent_c", "ent_d", "ent_e"];
/** An event the inline projection refuses (it throws on this name). */
const POISON = "poison";

/** One append as asked: its stream, expected version and events. */
interface Append {
  streamId: string;
  expected: ExpectedStreamVersion;
  events: KeygateEvent[];
}

/** What the model says became of a piece of work: committed (last position), or refused. */
type Outcome = { ok: true; lastPosition: number } | { ok: false; conflict: boolean };

/** The model: stream versions and the log as (stream, version, name) rows. */
class StoreModel {
  versions = new Map<string, number>();
  log: { streamId: string; version: number; name: string }[] = [];

  clone(): StoreModel {
    const copy = new StoreModel();
    copy.versions = new Map(this.versions);
    copy.log = [...this.log];
    return copy;
  }

  /** Applies one append, or says why it is refused (nothing applied then). */
  append({ streamId, expected, events }: Append): Outcome {
    const current = this.versions.get(streamId);
    const meets =
      expected === NO_CONCURRENCY_CHECK ||
      (expected === STREAM_EXISTS && current !== undefined) ||
      (expected === STREAM_DOES_NOT_EXIST && current === undefined) ||
      (typeof expected === "number" && (current ?? 0) === expected);
    if (!meets) return { ok: false, conflict: true };
    if (events.length === 0) return { ok: true, lastPosition: 0 };
    const names = events.map((e) => (e.data as { name?: unknown }).name);
    if (names.some((n) => typeof n !== "string" || n === POISON))
      return { ok: false, conflict: false };
    let version = current ?? 0;
    for (const name of names) {
      version += 1;
      this.log.push({ streamId, version, name: name as string });
    }
    this.versions.set(streamId, version);
    return { ok: true, lastPosition: this.log.length };
  }
}

const eventNamed = (streamId: string, name: unknown): KeygateEvent =>
  ({
    type: "entity.created",
    data:
      name === undefined
        ? { entity_id: streamId } // missing fields: the schema refuses it
        : { entity_id: streamId, kind: "merchant", name, parent_id: null, reference: null },
  }) as KeygateEvent;

function randomAppend(rng: Random, model: StoreModel, serial: () => number): Append {
  const streamId = rng.pick(STREAMS);
  const v = model.versions.get(streamId) ?? 0;
  const expected = rng.pick<ExpectedStreamVersion>([
    v,
    v,
    v + 1,
    Math.max(0, v - 1),
    STREAM_EXISTS,
    STREAM_DOES_NOT_EXIST,
    NO_CONCURRENCY_CHECK,
  ]);
  const events = Array.from({ length: rng.int(4) }, () => {
    const roll = rng.int(20);
    const name = roll === 0 ? POISON : roll === 1 ? undefined : `e${serial()}`;
    return eventNamed(streamId, name);
  });
  return { streamId, expected, events };
}

let db: KeygateDatabase | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
});

describe("the event store against a reference model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 40 rounds of grouped, atomic and plain appends; outcomes, log, projection and notifications as the model says`, async () => {
      const rng = seededRandom(seed);
      db = openDatabase(":memory:");
      const sql = db.sql;
      sql.exec(
        "CREATE TABLE tally (position INTEGER PRIMARY KEY, stream_id TEXT, version INTEGER)",
      );
      const tally: InlineProjection = {
        name: "tally",
        version: 1,
        tables: ["tally"],
        apply(event) {
          if ((event.data as { name: string }).name === POISON) throw new Error("refused");
          sql
            .prepare("INSERT INTO tally (position, stream_id, version) VALUES (?, ?, ?)")
            .run(event.position, event.streamId, event.streamVersion);
        },
      };
      const store = new EventStore(sql, { projections: [tally] });
      const heard: { streamId: string; version: number; name: string }[] = [];
      store.subscribe((events) => {
        for (const e of events)
          heard.push({
            streamId: e.streamId,
            version: e.streamVersion,
            name: (e.data as { name: string }).name,
          });
      });
      let model = new StoreModel();
      let n = 0;
      const serial = () => ++n;
      const settle = async (p: Promise<unknown>): Promise<Outcome> => {
        try {
          const result = await p;
          return { ok: true, lastPosition: (result as { lastPosition: number }).lastPosition };
        } catch (error) {
          return {
            ok: false,
            conflict: error instanceof KeygateError && error.code === "resource_conflict",
          };
        }
      };
      const plain = (append: Append): Outcome => {
        try {
          const result = store.appendToStream(append.streamId, append.events, {
            expectedStreamVersion: append.expected,
            metadata: TEST_ACTOR,
          });
          return { ok: true, lastPosition: result.lastPosition };
        } catch (error) {
          return {
            ok: false,
            conflict: error instanceof KeygateError && error.code === "resource_conflict",
          };
        }
      };

      for (let round = 1; round <= 40; round++) {
        const label = `seed ${seed} round ${round}`;
        // What the queued work will do, decided now, applied to the model at the commit.
        const queued: { promise: Promise<Outcome>; apply: (m: StoreModel) => Outcome }[] = [];
        for (let i = 0, pieces = 1 + rng.int(6); i < pieces; i++) {
          const roll = rng.int(10);
          if (roll < 5) {
            const append = randomAppend(rng, model, serial);
            const promise = settle(
              store.appendToStreamGrouped(append.streamId, append.events, {
                expectedStreamVersion: append.expected,
                metadata: TEST_ACTOR,
              }),
            );
            queued.push({ promise, apply: (m) => m.append(append) });
          } else if (roll < 8) {
            // An atomic unit: two appends and, one time in four, a throw after them.
            const appends = [randomAppend(rng, model, serial), randomAppend(rng, model, serial)];
            const abandon = rng.chance(0.25);
            const promise = settle(
              store.atomicallyGrouped(() => {
                let last = 0;
                for (const a of appends)
                  last = store.appendToStream(a.streamId, a.events, {
                    expectedStreamVersion: a.expected,
                    metadata: TEST_ACTOR,
                  }).lastPosition;
                if (abandon) throw new Error("the unit changed its mind");
                return { lastPosition: last };
              }),
            );
            queued.push({
              promise,
              apply: (m) => {
                const trial = m.clone();
                let last = 0;
                for (const a of appends) {
                  const outcome = trial.append(a);
                  if (!outcome.ok) return outcome;
                  last = outcome.lastPosition;
                }
                if (abandon) return { ok: false, conflict: false };
                m.versions = trial.versions;
                m.log = trial.log;
                return { ok: true, lastPosition: last };
              },
            });
          } else {
            // A plain append commits at once, ahead of everything queued.
            const append = randomAppend(rng, model, serial);
            const got = plain(append);
            expect({ label, plain: got }).toEqual({ label, plain: model.append(append) });
          }
        }
        const outcomes = await Promise.all(queued.map((q) => q.promise));
        const next = model.clone();
        const wanted = queued.map((q) => q.apply(next));
        model = next;
        expect({ label, outcomes }).toEqual({ label, outcomes: wanted });

        const log = store.readAll({ limit: 100_000 });
        expect({ label, log: log.map((e) => [e.position, e.streamId, e.streamVersion]) }).toEqual({
          label,
          log: model.log.map((e, i) => [i + 1, e.streamId, e.version]),
        });
        expect(heard).toEqual(model.log);
        expect(
          sql.prepare("SELECT position, stream_id, version FROM tally ORDER BY position").all(),
        ).toEqual(
          model.log.map((e, i) => ({ position: i + 1, stream_id: e.streamId, version: e.version })),
        );
        for (const streamId of STREAMS)
          expect({ label, streamId, version: store.streamVersion(streamId) }).toEqual({
            label,
            streamId,
            version: model.versions.get(streamId),
          });
      }
      expect(model.log.length).toBeGreaterThan(20);
      expect(verifyLog(sql).ok).toBe(true);
    });
  }
});

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { ResultCipher } from "../../src/idempotency/result-cipher.ts";
import {
  IdempotencyResults,
  type IdempotencyScope,
  SWEEP_BATCH,
} from "../../src/idempotency/result-store.ts";
import { idempotencyResultsProjection } from "../../src/projections/idempotency-results.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { turnsWhile } from "../support/event-loop.ts";
import { recordResult, storedJson } from "../support/idempotency.ts";
import { FakeClock, TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";

const scope: IdempotencyScope = { entityId: "ent_merchant1", scope: "live", key: "order-0001" };
const FP = "a".repeat(64);
const OTHER_FP = "b".repeat(64);

function count(kg: ReturnType<typeof testKeygate>, table: string): number {
  return (
    kg.db.sql.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }
  ).n;
}

function record(kg: ReturnType<typeof testKeygate>, body: string, s = scope) {
  return recordResult(kg, s, FP, body);
}

describe("recorded idempotent results", () => {
  test("the first request runs; once recorded, the same request is replayed, another is a mismatch", async () => {
    const kg = testKeygate({ clock: new FakeClock() });
    await record(kg, '{"id":"ch_1"}');
    const again = kg.idempotency.begin(scope, FP);
    expect(again.kind).toBe("replay");
    if (again.kind === "replay")
      expect(new TextDecoder().decode(again.response.body as Uint8Array)).toBe('{"id":"ch_1"}');
    expect(kg.idempotency.begin(scope, OTHER_FP).kind).toBe("mismatch");
    // Another entity, or the other environment, with the same key is a different key.
    expect(kg.idempotency.begin({ ...scope, scope: "test" }, FP).kind).toBe("run");
    expect(kg.idempotency.begin({ ...scope, entityId: "ent_other" }, FP).kind).toBe("run");
  });

  test("while the first request runs, the same key is in use; released, it is free again", () => {
    const kg = testKeygate();
    const first = kg.idempotency.begin(scope, FP);
    expect(first.kind).toBe("run");
    expect(kg.idempotency.begin(scope, FP).kind).toBe("in_use");
    expect(kg.idempotency.begin(scope, OTHER_FP).kind).toBe("mismatch");
    if (first.kind === "run") first.ticket.release();
    expect(kg.idempotency.begin(scope, FP).kind).toBe("run");
  });

  test("the result is in the log, sealed: the event holds no plaintext, the data key lives outside it", async () => {
    const kg = testKeygate();
    await record(kg, '{"secret":"sk_live_plaintext_marker"}');
    const [event] = kg.store.readStream("idempotency:ent_merchant1:live:order-0001");
    expect(event?.type).toBe("idempotency.recorded");
    expect(JSON.stringify(event)).not.toContain("plaintext_marker");
    expect(count(kg, "idempotency_data_keys")).toBe(1);
  });

  test("replays come from the database after a restart (no cache)", async () => {
    const clock = new FakeClock();
    const { dir, remove } = tempDir();
    try {
      const path = `${dir}/k.sqlite`;
      const first = testKeygate({ path, clock });
      await record(first, '{"id":"ch_1"}');
      first.close();
      const second = testKeygate({ path, clock });
      expect(second.idempotency.cachedResults).toBe(0);
      const again = second.idempotency.begin(scope, FP);
      expect(again.kind).toBe("replay");
      second.close();
    } finally {
      remove();
    }
  });

  test("after the window the key is new again; the sweep destroys the data key, the log keeps the event", async () => {
    const clock = new FakeClock();
    const kg = testKeygate({ clock });
    await record(kg, '{"id":"ch_1"}');
    clock.advance(24 * 3600 - 1);
    expect(kg.idempotency.begin(scope, FP).kind).toBe("replay");
    clock.advance(1);
    expect(await kg.idempotency.sweep()).toBe(1);
    expect(count(kg, "idempotency_results")).toBe(0);
    expect(count(kg, "idempotency_data_keys")).toBe(0);
    expect(kg.idempotency.cachedResults).toBe(0);
    // New again: a different request may use the key now, and is recorded after the first.
    const admission = kg.idempotency.begin(scope, OTHER_FP);
    expect(admission.kind).toBe("run");
    if (admission.kind === "run")
      await admission.ticket.complete(storedJson('{"id":"ch_2"}'), TEST_ACTOR);
    const stream = kg.store.readStream("idempotency:ent_merchant1:live:order-0001");
    expect(stream.map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  test("a sweep of many expired results goes in batches, serving the event loop between them", async () => {
    const clock = new FakeClock();
    const kg = testKeygate({ clock });
    const nowMs = clock.now().getTime();
    const expired = SWEEP_BATCH * 2 + 1;
    const sql = kg.db.sql;
    sql.transaction(() => {
      const result = sql.prepare(
        "INSERT INTO idempotency_results (scope_key, fingerprint, position, stream_version, data_key_id, expires_at) VALUES (?, 'fp', ?, 1, ?, ?)",
      );
      const key = sql.prepare(
        "INSERT INTO idempotency_data_keys (id, wrapped_key, expires_at) VALUES (?, x'00', ?)",
      );
      for (let i = 0; i <= expired; i++) {
        // The last one is still inside its window.
        const expiresAt = i < expired ? nowMs - 1 : nowMs + 60_000;
        result.run(`scope_${i}`, i, `dk_${i}`, expiresAt);
        key.run(`dk_${i}`, expiresAt);
      }
    });
    const { result: destroyed, turns } = await turnsWhile(() => kg.idempotency.sweep());
    expect(destroyed).toBe(expired);
    expect(turns).toBeGreaterThanOrEqual(2);
    expect([count(kg, "idempotency_results"), count(kg, "idempotency_data_keys")]).toEqual([1, 1]);
  });

  test("a destroyed data key leaves no copy in the database file or its write-ahead log", async () => {
    const clock = new FakeClock();
    const { dir, remove } = tempDir();
    try {
      const path = `${dir}/k.sqlite`;
      const kg = testKeygate({ path, clock });
      await record(kg, '{"id":"ch_1"}');
      const { wrapped_key } = kg.db.sql
        .prepare<{ wrapped_key: Uint8Array }>("SELECT wrapped_key FROM idempotency_data_keys")
        .get() as { wrapped_key: Uint8Array };
      const onDisk = () =>
        Buffer.concat(
          ["", "-wal"].map((suffix) =>
            existsSync(path + suffix) ? readFileSync(path + suffix) : Buffer.alloc(0),
          ),
        );
      expect(onDisk().includes(Buffer.from(wrapped_key))).toBe(true);
      clock.advance(24 * 3600);
      expect(await kg.idempotency.sweep()).toBe(1);
      expect(onDisk().includes(Buffer.from(wrapped_key))).toBe(false);
      kg.close();
    } finally {
      remove();
    }
  });

  test("expired results are unreadable even before a sweep, and a rebuild does not revive them", async () => {
    const clock = new FakeClock();
    const kg = testKeygate({ clock });
    await record(kg, '{"id":"ch_1"}');
    clock.advance(24 * 3600);
    expect(kg.idempotency.begin(scope, OTHER_FP).kind).toBe("run");
    rebuildProjections(kg.db.sql, [idempotencyResultsProjection(kg.db.sql)]);
    const fresh = new IdempotencyResults(
      kg.db.sql,
      kg.store,
      new ResultCipher(Buffer.alloc(32, 7)),
      {
        ttlSeconds: 86400,
        now: clock.now,
      },
    );
    expect(fresh.begin(scope, FP).kind).toBe("run");
  });

  test("a rebuild restores the results projection from the log", async () => {
    const kg = testKeygate();
    await record(kg, '{"id":"ch_1"}');
    const before = kg.db.sql.prepare("SELECT * FROM idempotency_results").all();
    rebuildProjections(kg.db.sql, [idempotencyResultsProjection(kg.db.sql)]);
    expect(kg.db.sql.prepare("SELECT * FROM idempotency_results").all()).toEqual(before);
    expect(count(kg, "idempotency_data_keys")).toBe(1);
  });

  test("the memory cache stays bounded", async () => {
    const kg = testKeygate();
    for (let i = 0; i < 30; i++)
      await record(kg, `{"i":${i}}`, { ...scope, key: `order-${1000 + i}` });
    expect(kg.idempotency.cachedResults).toBe(30);
    const small = new IdempotencyResults(
      kg.db.sql,
      kg.store,
      new ResultCipher(Buffer.alloc(32, 7)),
      {
        ttlSeconds: 60,
        now: () => new Date(),
        cacheEntries: 5,
      },
    );
    for (let i = 0; i < 30; i++) {
      const a = small.begin({ ...scope, key: `other-${1000 + i}` }, FP);
      if (a.kind === "run") await a.ticket.complete(storedJson(`{"i":${i}}`), TEST_ACTOR);
    }
    expect(small.cachedResults).toBe(5);
  });
});

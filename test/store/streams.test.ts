/**
 * SPEC §2: one stream per entity, per API key, per user and per idempotency key. A history
 * made through the real commands and HTTP routes is read back from the log, stream by stream.
 */
import { expect, test } from "bun:test";
import type { Keygate } from "../../src/app/keygate.ts";
import { buildHistory } from "../support/history.ts";
import { appOver } from "../support/http.ts";
import { FakeClock, testKeygatePerTest } from "../support/keygate.ts";

const openKeygate = testKeygatePerTest();

/** The id prefix of each aggregate's streams, by the first part of its event types. */
const STREAM_PREFIX: Record<string, string> = {
  entity: "ent_",
  api_key: "key_",
  user: "usr_",
  idempotency: "idempotency:",
};

/** The one number a query over `kg`'s database selects as `n`. */
function numberFrom(kg: Keygate, sql: string, ...params: string[]): number {
  return (kg.db.sql.prepare<{ n: number }>(sql).get(...params) as { n: number }).n;
}

test("one stream per entity, per API key, per user and per idempotency key, each its own aggregate's from its first event", async () => {
  const clock = new FakeClock();
  const kg = openKeygate({ clock });
  const history = await buildHistory(kg, clock);
  const { call } = appOver(kg);
  const created = (key: string, idempotencyKey: string) =>
    call("POST", "/v1/api-keys", {
      key,
      headers: { "idempotency-key": idempotencyKey },
      body: { name: "checkout", scopes: ["links:read"] },
    });
  for (const [key, idempotencyKey] of [
    [history.init.keys.live, "live-create-0001"],
    [history.init.keys.test, "test-create-0001"],
    [history.init.keys.live, "live-create-0002"],
  ] as const) {
    expect((await created(key, idempotencyKey)).status).toBe(200);
  }

  const events = kg.db.sql
    .prepare<{ stream_id: string; stream_version: number; type: string }>(
      "SELECT stream_id, stream_version, type FROM events ORDER BY position",
    )
    .all() as { stream_id: string; stream_version: number; type: string }[];
  const streams = new Map<string, { aggregate: string; types: string[]; versions: number[] }>();
  for (const event of events) {
    const aggregate = event.type.split(".")[0] as string;
    expect(event.stream_id.startsWith(STREAM_PREFIX[aggregate] as string)).toBe(true);
    const stream = streams.get(event.stream_id) ?? { aggregate, types: [], versions: [] };
    expect(stream.aggregate).toBe(aggregate);
    stream.types.push(event.type);
    stream.versions.push(event.stream_version);
    streams.set(event.stream_id, stream);
  }
  for (const { aggregate, types, versions } of streams.values()) {
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(types[0]).toBe(
      aggregate === "idempotency" ? "idempotency.recorded" : `${aggregate}.created`,
    );
  }

  const streamsOf = (aggregate: string) =>
    [...streams.values()].filter((stream) => stream.aggregate === aggregate).length;
  expect(streamsOf("entity")).toBe(numberFrom(kg, "SELECT COUNT(*) AS n FROM entities"));
  expect(streamsOf("api_key")).toBe(numberFrom(kg, "SELECT COUNT(*) AS n FROM api_keys"));
  expect(streamsOf("user")).toBe(numberFrom(kg, "SELECT COUNT(*) AS n FROM users"));
  expect(streamsOf("entity")).toBe(4);
  expect(streamsOf("user")).toBe(3);
  // Each Idempotency-Key is a stream of its own, named by the entity and environment it is for.
  const platform = history.init.entityId;
  expect([...streams.keys()].filter((id) => id.startsWith("idempotency:")).sort()).toEqual([
    `idempotency:${platform}:live:live-create-0001`,
    `idempotency:${platform}:live:live-create-0002`,
    `idempotency:${platform}:test:test-create-0001`,
  ]);
  // Every stream's row in the streams table holds its last version.
  for (const [id, { versions }] of streams) {
    expect(numberFrom(kg, "SELECT version AS n FROM streams WHERE stream_id = ?", id)).toBe(
      versions.length,
    );
  }
});

/**
 * An upgrade keeps everything an earlier release wrote. `release-b9f4f9e/` is a database that
 * Keygate as it was on 2026-11-23 made and used (make-fixture.ts made it), before migrations
 * 0006–0012, before the projections changed their versions, before recorded results kept
 * their caller's limit. This build opens it as `serve` would — migrating it, rebuilding what
 * changed — at a time within a day of its last write, and must then answer every key, replay
 * every recorded result and verify the log as that release did, with the changes
 * docs/deploy.md announces for such an upgrade and no other.
 */
import { Database } from "bun:sqlite";
import { beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { replayAndCompare } from "../../src/audit/replay.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { MIGRATIONS } from "../../src/db/migrations.generated.ts";
import { appOver, codeOf } from "../support/http.ts";
import { databaseFilePerTest, FakeClock } from "../support/keygate.ts";

const FIXTURE = join(import.meta.dir, "release-b9f4f9e");
const facts = JSON.parse(readFileSync(join(FIXTURE, "facts.json"), "utf8"));
/** The fixture keeps each key as its parts (see make-fixture.ts). */
const key = (name: string): string => facts.keys[name].join("_");
const fromBase64 = (text: string) => Buffer.from(text, "base64").toString("utf8");

const database = databaseFilePerTest();
let clock: FakeClock;
let upgraded: ReturnType<typeof appOver>;

beforeEach(() => {
  const old = new Database(database.path());
  old.exec(readFileSync(join(FIXTURE, "keygate.sql"), "utf8"));
  old.close();
  // A minute after the old release stopped: its expiring key has minutes left, its results
  // most of their 24 hours.
  clock = new FakeClock(facts.recordedUntil);
  clock.advance(60);
  upgraded = appOver(
    database.open({
      clock,
      env: {
        KEYGATE_JWT_SECRET: facts.serverKeys.jwt,
        KEYGATE_RESULTS_KEY: facts.serverKeys.results,
      },
    }),
  );
});

test("every migration is applied, and the log verifies, against its checkpoint, and replays as the tables say", () => {
  const applied = upgraded.kg.db.sql
    .prepare<{ n: number }>("SELECT COUNT(*) AS n FROM __drizzle_migrations")
    .get();
  expect(applied?.n).toBe(MIGRATIONS.length);
  const report = verifyLog(upgraded.kg.db.sql);
  expect(report).toMatchObject({ ok: true, events: 18 });
  // The old release signed one at its start; the log must still reach it.
  expect(report.ok && report.checkpoint?.size).toBeGreaterThan(0);
  const replay = replayAndCompare(database.path(), { now: clock.now, scratchDir: database.dir() });
  expect(replay.differences).toEqual([]);
});

describe("every key answers as before the upgrade", () => {
  const me = (secret: string) => upgraded.call("GET", "/v1/me", { key: secret });

  test("the platform's keys, in their environments; the first one found records the pepper", async () => {
    // Made before pepper_check (migration 0013): the first key found proves the pepper.
    expect(upgraded.kg.pepper.unrecorded).toBe(true);
    const live = await me(key("live"));
    expect(live.status).toBe(200);
    expect(upgraded.kg.pepper.unrecorded).toBe(false);
    expect(live.body.entity.id).toBe(facts.entities.platform);
    expect((await me(key("test"))).body.livemode).toBe(false);
  });

  test("a merchant's key, its path and its last use kept", async () => {
    const merchant = await me(key("merchant"));
    expect(merchant.status).toBe(200);
    expect(merchant.body.entity.path).toEqual([
      facts.entities.platform,
      facts.entities.partner,
      facts.entities.merchant,
    ]);
    expect(merchant.body.key.last_used_at).not.toBeNull();
  });

  test("both secrets of a rotation inside its overlap, with the key's own limit", async () => {
    for (const secret of [key("rotatedOut"), key("rotatedIn")]) {
      const reply = await me(secret);
      expect(reply.status).toBe(200);
      expect(reply.headers.get("x-ratelimit-limit")).toBe("5");
    }
  });

  test("refused as before: revoked, a pair in a deactivated branch, and expired in its time", async () => {
    expect(codeOf(await me(key("revoked")))).toBe("api_key_revoked");
    expect((await me(key("expiring"))).status).toBe(200);
    clock.advance(10 * 60);
    expect(codeOf(await me(key("expiring")))).toBe("api_key_expired");
    const pair = await upgraded.call("GET", "/v1/me", {
      headers: {
        authorization: `Basic ${btoa(`${key("pairPublic")}:${key("pairSecret")}`)}`,
      },
    });
    expect(codeOf(pair)).toBe("entity_inactive");
  });

  test("the keys listed are the keys the old release listed", async () => {
    const list = await upgraded.call("GET", "/v1/api-keys?limit=100", { key: key("live") });
    const withoutUse = (keys: { last_used_at: unknown }[]) =>
      keys.map(({ last_used_at, ...rest }) => rest);
    expect(withoutUse(list.body.data)).toEqual(withoutUse(facts.keyList));
  });
});

test("a result recorded by the old release is replayed byte for byte, a key's secret included", async () => {
  for (const recorded of facts.recorded) {
    const replay = await upgraded.call("POST", recorded.path, {
      key: key(recorded.by),
      headers: { "idempotency-key": recorded.idempotencyKey },
      body: recorded.body,
    });
    expect(replay.status).toBe(recorded.status);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(fromBase64(recorded.text));
  }
  expect(upgraded.internalErrors).toEqual([]);
});

test("a dashboard token of the old release is refused (deploy.md); its user signs in again", async () => {
  const old = await upgraded.call("GET", "/v1/api-keys", { key: facts.user.token });
  expect(codeOf(old)).toBe("invalid_token");
  const login = await upgraded.call("POST", "/v1/auth/login", {
    body: { email: facts.user.email, password: facts.user.password },
  });
  expect(login.status).toBe(200);
  const keys = await upgraded.call("GET", "/v1/api-keys", { key: login.body.token });
  expect(keys.status).toBe(200);
});

test("the merchant reads the events it read before, and now its own recorded results too", async () => {
  const events = await upgraded.call("GET", "/v1/events?limit=100", { key: key("merchant") });
  const positions = events.body.data.map((e: { position: number }) => e.position);
  const added = events.body.data.filter(
    (e: { position: number }) => !facts.merchantEvents.includes(e.position),
  );
  expect(positions).toEqual(expect.arrayContaining(facts.merchantEvents));
  expect(added.map((e: { type: string; stream_id: string }) => [e.type, e.stream_id])).toEqual([
    [
      "idempotency.recorded",
      `idempotency:${facts.entities.merchant}:live:${facts.recorded[1].idempotencyKey}`,
    ],
  ]);
});

test("the log goes on: a new key, chained to the old release's last event", async () => {
  const created = await upgraded.call("POST", "/v1/api-keys", {
    key: key("live"),
    body: { name: "after the upgrade", scopes: ["links:read"] },
  });
  expect(created.status).toBe(200);
  expect((await upgraded.call("GET", "/v1/me", { key: created.body.secret })).status).toBe(200);
  expect(verifyLog(upgraded.kg.db.sql)).toMatchObject({ ok: true, events: 19 });
});

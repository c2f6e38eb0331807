/**
 * SPEC §5 under failure, on every one of Keygate's own write routes: a request admitted under
 * an Idempotency-Key writes its effect and the record of its answer in ONE transaction. So an
 * answer that cannot be recorded leaves no effect behind (and the retry runs afresh), and no
 * crash between two commits can leave a key created whose answer a retry cannot replay.
 * Without a key, the same routes' writes are units of the group commit too.
 */
import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity } from "../../src/commands/entities.ts";
import { deactivateUser } from "../../src/commands/users.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { FakeClock, givenUser, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();
type App = ReturnType<typeof openTestApp>;

/** One write route, and what it needs to exist first. */
interface WriteRoute {
  method: "POST" | "PATCH";
  /** The path, given what `prepare` made. */
  path: (made: string) => string;
  /** Makes what the route acts on; returns its id. */
  prepare: (t: App) => string | Promise<string>;
  body?: (t: App) => object;
}

const write = (
  method: WriteRoute["method"],
  path: WriteRoute["path"],
  prepare: WriteRoute["prepare"],
  body?: WriteRoute["body"],
): WriteRoute => ({ method, path, prepare, body });

const nothing = () => "";
const key = (t: App) =>
  createApiKey(
    t.kg,
    { entityId: t.platform, environment: "live", name: "target", scopes: ["links:read"] },
    TEST_ACTOR,
  ).id;
const merchant = (t: App) =>
  createEntity(t.kg, { kind: "merchant", name: "Shop", parentId: t.platform }, TEST_ACTOR).id;
const inactiveMerchant = (t: App) => {
  const id = merchant(t);
  deactivateEntity(t.kg, id, t.platform, TEST_ACTOR);
  return id;
};
const user = async (t: App) =>
  (
    await givenUser(t.kg, {
      email: "ops@example.com",
      password: "a long enough password",
      entityId: t.platform,
    })
  ).id;
const inactiveUser = async (t: App) => {
  const id = await user(t);
  deactivateUser(t.kg, id, TEST_ACTOR);
  return id;
};

const ROUTES: Record<string, WriteRoute> = {
  "create a key": write(
    "POST",
    () => "/v1/api-keys",
    nothing,
    () => ({
      name: "checkout",
      scopes: ["links:read"],
    }),
  ),
  "change a key": write(
    "PATCH",
    (id) => `/v1/api-keys/${id}`,
    key,
    () => ({ name: "renamed" }),
  ),
  "rotate a key": write("POST", (id) => `/v1/api-keys/${id}/rotate`, key),
  "revoke a key": write("POST", (id) => `/v1/api-keys/${id}/revoke`, key),
  "create an entity": write(
    "POST",
    () => "/v1/entities",
    nothing,
    () => ({
      kind: "merchant",
      name: "Shop",
    }),
  ),
  "change an entity": write(
    "PATCH",
    (id) => `/v1/entities/${id}`,
    merchant,
    () => ({
      name: "Renamed",
    }),
  ),
  "deactivate an entity": write("POST", (id) => `/v1/entities/${id}/deactivate`, merchant),
  "reactivate an entity": write("POST", (id) => `/v1/entities/${id}/reactivate`, inactiveMerchant),
  "create a user": write(
    "POST",
    () => "/v1/users",
    nothing,
    (t) => ({
      email: "new@example.com",
      password: "a long enough password",
      entity_id: t.platform,
    }),
  ),
  "change a user's email": write(
    "PATCH",
    (id) => `/v1/users/${id}`,
    user,
    () => ({
      email: "other@example.com",
    }),
  ),
  "deactivate a user": write("POST", (id) => `/v1/users/${id}/deactivate`, user),
  "reactivate a user": write("POST", (id) => `/v1/users/${id}/reactivate`, inactiveUser),
  "set a user's password": write(
    "POST",
    (id) => `/v1/users/${id}/password`,
    user,
    () => ({
      password: "another long password",
    }),
  ),
};

/** Every statement writing a data key fails from now on, as a full disk would fail it. */
function breakRecording(t: App): void {
  t.kg.db.sql.exec(
    "CREATE TRIGGER fail_records BEFORE INSERT ON idempotency_data_keys BEGIN SELECT RAISE(ABORT, 'disk full'); END",
  );
}

function repairRecording(t: App): void {
  t.kg.db.sql.exec("DROP TRIGGER fail_records");
}

/** Every table's row count, the log's included: what a request changed, if anything. */
function snapshot(t: App): Record<string, number> {
  const tables = t.kg.db.sql
    .prepare<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  return Object.fromEntries(
    tables.map(({ name }) => [
      name,
      (
        t.kg.db.sql.prepare<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}"`).get() as {
          n: number;
        }
      ).n,
    ]),
  );
}

describe("an idempotent write and the record of its answer commit together", () => {
  for (const [name, route] of Object.entries(ROUTES)) {
    test(`${name}: an answer that cannot be recorded leaves no effect; the retry runs afresh`, async () => {
      // PATCH is made idempotent too, so that every write route is covered.
      const t = openTestApp({
        clock: new FakeClock(),
        config: { idempotency: { methods: ["POST", "PATCH"] } },
      });
      const made = await route.prepare(t);
      const body = route.body?.(t);
      const send = () =>
        t.call(route.method, route.path(made), {
          key: t.live,
          headers: { "idempotency-key": "atomic-write-0001" },
          ...(body ? { body } : {}),
        });
      const before = snapshot(t);
      const head = t.kg.store.headPosition();

      breakRecording(t);
      const failed = await send();
      expect(failed.status).toBe(500);
      expect(codeOf(failed)).toBe("api_error");
      expect(failed.body.error.message).toContain("did not take effect");
      expect(t.kg.store.headPosition()).toBe(head);
      expect(snapshot(t)).toEqual(before);

      repairRecording(t);
      const retried = await send();
      expect(retried.status).toBe(200);
      expect(retried.headers.get("idempotent-replayed")).toBeNull();
      const written = t.kg.db.sql
        .prepare<{ type: string }>("SELECT type FROM events WHERE position > ? ORDER BY position")
        .all(head)
        .map((e) => e.type);
      // The effect's events, then its record: one of each write, never two.
      expect(written.length).toBeGreaterThan(1);
      expect(written.filter((type) => type === "idempotency.recorded")).toHaveLength(1);
      expect(written.at(-1)).toBe("idempotency.recorded");
      const replayed = await send();
      expect(replayed.headers.get("idempotent-replayed")).toBe("true");
      expect(replayed.text).toBe(retried.text);
    });
  }

  test("a key creation whose batch is redone (a rotation of a revoked key failed in it) answers with the secret that was stored", async () => {
    const t = openTestApp({ clock: new FakeClock() });
    const revoked = key(t);
    await t.call("POST", `/v1/api-keys/${revoked}/revoke`, { key: t.live });
    const [created, refused] = await Promise.all([
      t.call("POST", "/v1/api-keys", {
        key: t.live,
        headers: { "idempotency-key": "rerun-create-0001" },
        body: { name: "rerun", scopes: ["links:read"] },
      }),
      t.call("POST", `/v1/api-keys/${revoked}/rotate`, {
        key: t.live,
        headers: { "idempotency-key": "rerun-rotate-0001" },
      }),
    ]);
    expect(created.status).toBe(200);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    // The secret sent is the one the log holds: it authenticates, and the replay repeats it.
    expect((await t.call("GET", "/v1/me", { key: created.body.secret })).status).toBe(200);
    const replay = await t.call("POST", "/v1/api-keys", {
      key: t.live,
      headers: { "idempotency-key": "rerun-create-0001" },
      body: { name: "rerun", scopes: ["links:read"] },
    });
    expect(replay.text).toBe(created.text);
  });

  test("a write the disk has no room for: 500 saying nothing changed, nothing recorded, and the retry runs afresh once there is room", async () => {
    const t = openTestApp({ clock: new FakeClock() });
    const pages = t.kg.db.sql.prepare<{ page_count: number }>("PRAGMA page_count").get();
    // The database may not grow: the first write that needs a new page fails (SQLITE_FULL).
    t.kg.db.sql.exec(`PRAGMA max_page_count = ${pages?.page_count}`);
    const send = (i: number) =>
      t.call("POST", "/v1/api-keys", {
        key: t.live,
        headers: { "idempotency-key": `no-room-${String(i).padStart(4, "0")}` },
        body: { name: `k${i}`, scopes: ["links:read"] },
      });
    let attempt = 0;
    let failed = await send(attempt);
    while (failed.status === 200 && attempt < 100) failed = await send(++attempt);
    expect(failed.status).toBe(500);
    expect(codeOf(failed)).toBe("api_error");
    expect(failed.body.error.message).toContain("nothing was changed");
    const head = t.kg.store.headPosition();
    const before = snapshot(t);

    t.kg.db.sql.exec("PRAGMA max_page_count = 1000000");
    const retried = await send(attempt);
    expect(retried.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(retried.body.name).toBe(`k${attempt}`);
    // One key and one record, written by the retry alone.
    expect(snapshot(t).api_keys).toBe((before.api_keys ?? 0) + 1);
    const written = t.kg.db.sql
      .prepare<{ type: string }>("SELECT type FROM events WHERE position > ? ORDER BY position")
      .all(head)
      .map((e) => e.type);
    expect(written).toEqual(["api_key.created", "idempotency.recorded"]);
  });
});

describe("writes without an Idempotency-Key", () => {
  test("concurrent ones share a commit; one refused in the batch leaves the others, each created once, with the secret that was stored", async () => {
    const t = openTestApp({ clock: new FakeClock() });
    const revoked = key(t);
    await t.call("POST", `/v1/api-keys/${revoked}/revoke`, { key: t.live });
    const commits: number[] = [];
    t.kg.store.subscribe((events) => commits.push(events.length));
    const before = snapshot(t).api_keys ?? 0;
    const [refused, ...created] = await Promise.all([
      t.call("POST", `/v1/api-keys/${revoked}/rotate`, { key: t.live }),
      ...Array.from({ length: 12 }, (_, i) =>
        t.call("POST", "/v1/api-keys", {
          key: t.live,
          body: { name: `batch ${i}`, scopes: ["links:read"] },
        }),
      ),
    ]);
    expect(refused?.status).toBe(400);
    expect(created.map((r) => r.status)).toEqual(Array(12).fill(200));
    // Twelve key creations, heard in fewer commits than there were requests.
    expect(commits.reduce((a, b) => a + b, 0)).toBe(12);
    expect(commits.length).toBeLessThan(12);
    // A batch the refused rotation shared is redone without it; either way each key exists
    // once, and the secret each client got is the one stored: it authenticates as that key.
    expect(snapshot(t).api_keys).toBe(before + 12);
    for (const reply of created) {
      const me = await t.call("GET", "/v1/me", { key: reply.body.secret });
      expect(me.body.key.id).toBe(reply.body.id);
    }
  });
});

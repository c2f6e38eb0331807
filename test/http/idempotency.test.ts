/** SPEC §5 over HTTP, on Keygate's own POST routes. */
import { describe, expect, test } from "bun:test";
import { createApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { type CallOptions, codeOf, tampered, testAppPerTest } from "../support/http.ts";
import { FakeClock, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();
function setup(config?: object, clock = new FakeClock("2026-03-01T12:00:00.000Z")) {
  return openTestApp({ clock, ...(config ? { config } : {}) });
}

type App = ReturnType<typeof setup>;

function createKey(t: App, idempotencyKey: string | null, options: CallOptions = {}) {
  return t.call("POST", "/v1/api-keys", {
    key: t.live,
    body: { name: "checkout", scopes: ["links:read"] },
    ...options,
    headers: {
      ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
      ...options.headers,
    },
  });
}

function keysNamed(t: App, name: string): number {
  return (
    t.kg.db.sql
      .prepare<{ n: number }>("SELECT COUNT(*) AS n FROM api_keys WHERE name = ?")
      .get(name) as {
      n: number;
    }
  ).n;
}

function recordedResults(t: App): number {
  return (
    t.kg.db.sql
      .prepare<{ n: number }>(
        "SELECT COUNT(*) AS n FROM events WHERE type = 'idempotency.recorded'",
      )
      .get() as { n: number }
  ).n;
}

describe("Idempotency-Key on POST", () => {
  test("a retried key creation replays the first response byte for byte — its secret included", async () => {
    const t = setup();
    const first = await createKey(t, "create-key-0001");
    expect(first.status).toBe(200);
    expect(first.body.secret).toMatch(/^sk_live_/);
    expect(first.headers.get("idempotent-replayed")).toBeNull();

    const again = await createKey(t, "create-key-0001");
    expect(again.status).toBe(first.status);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    // Per-request headers are the retry's own.
    expect(again.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
    expect(again.headers.get("x-ratelimit-remaining")).toBe("98");
    // The structured-field form names the same key.
    expect((await createKey(t, '"create-key-0001"')).text).toBe(first.text);
    expect(keysNamed(t, "checkout")).toBe(1);
    expect(recordedResults(t)).toBe(1);
  });

  test("a bodiless POST (rotate) replays too: the retry gets the same new secret", async () => {
    const t = setup();
    const key = await createKey(t, null);
    const rotate = () =>
      t.call("POST", `/v1/api-keys/${key.body.id}/rotate`, {
        key: t.live,
        headers: { "idempotency-key": "rotate-once-0001" },
      });
    const first = await rotate();
    const again = await rotate();
    expect(first.status).toBe(200);
    expect(first.body.secret).not.toBe(key.body.secret);
    expect(again.body.secret).toBe(first.body.secret);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const timeline = await t.call("GET", `/v1/api-keys/${key.body.id}/events`, { key: t.live });
    expect(timeline.body.data.map((e: { type: string }) => e.type)).toEqual([
      "api_key.created",
      "api_key.rotated",
    ]);
  });

  test("without the header nothing is deduplicated; GET ignores it", async () => {
    const t = setup();
    await createKey(t, null);
    await createKey(t, null);
    expect(keysNamed(t, "checkout")).toBe(2);
    const me = await t.call("GET", "/v1/me", { key: t.live, headers: { "idempotency-key": "x" } });
    expect(me.status).toBe(200);
    expect(recordedResults(t)).toBe(0);
  });

  test("the same key with another method, path, query or body: 409 idempotency_mismatch", async () => {
    const t = setup();
    await createKey(t, "create-key-0002");
    const otherBody = await createKey(t, "create-key-0002", {
      body: { name: "checkout", scopes: ["links:write"] },
    });
    expect([otherBody.status, codeOf(otherBody), otherBody.body.error.type]).toEqual([
      409,
      "idempotency_mismatch",
      "idempotency",
    ]);
    // Byte-level: the same JSON with other whitespace is another request.
    const reformatted = await createKey(t, "create-key-0002", {
      body: '{ "name": "checkout", "scopes": ["links:read"] }',
    });
    expect(codeOf(reformatted)).toBe("idempotency_mismatch");
    const otherPath = await t.call("POST", "/v1/entities", {
      key: t.live,
      body: { kind: "partner", name: "P" },
      headers: { "idempotency-key": "create-key-0002" },
    });
    expect(codeOf(otherPath)).toBe("idempotency_mismatch");
    const otherQuery = await t.call("POST", "/v1/api-keys?x=1", {
      key: t.live,
      body: { name: "checkout", scopes: ["links:read"] },
      headers: { "idempotency-key": "create-key-0002" },
    });
    expect(codeOf(otherQuery)).toBe("idempotency_mismatch");
    expect(keysNamed(t, "checkout")).toBe(1);
  });

  test("the mismatch status is configurable: 422 for the IETF draft", async () => {
    const t = setup({ idempotency: { mismatch_status: 422 } });
    await createKey(t, "create-key-0003");
    const mismatch = await createKey(t, "create-key-0003", { body: { name: "x", scopes: [] } });
    expect([mismatch.status, codeOf(mismatch)]).toEqual([422, "idempotency_mismatch"]);
  });

  test("a malformed key is 400 idempotency_key_invalid; a required one missing is 400 idempotency_key_missing", async () => {
    const t = setup({ idempotency: { required: [{ method: "POST", path: "/v1/api-keys" }] } });
    for (const bad of ["short", "a".repeat(65), "no spaces please", '"open-quote']) {
      const reply = await createKey(t, bad);
      expect([reply.status, codeOf(reply), reply.body.error.type]).toEqual([
        400,
        "idempotency_key_invalid",
        "idempotency",
      ]);
    }
    const missing = await createKey(t, null);
    expect([missing.status, codeOf(missing)]).toEqual([400, "idempotency_key_missing"]);
    expect(keysNamed(t, "checkout")).toBe(0);
    // Other routes do not require it.
    const entity = await t.call("POST", "/v1/entities", {
      key: t.live,
      body: { kind: "partner", name: "P" },
    });
    expect(entity.status).toBe(200);
  });

  test("50 concurrent identical requests: the handler runs once; the others are in use or replays", async () => {
    const t = setup();
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        createKey(t, "concurrent-0001", { body: { name: "concurrent", scopes: ["links:read"] } }),
      ),
    );
    expect(keysNamed(t, "concurrent")).toBe(1);
    const firsts = replies.filter((r) => r.status === 200 && !r.headers.get("idempotent-replayed"));
    expect(firsts).toHaveLength(1);
    for (const reply of replies) {
      if (reply.status === 409) {
        expect(codeOf(reply)).toBe("idempotency_key_in_use");
        expect(reply.headers.get("retry-after")).toBe("1");
      } else {
        expect(reply.text).toBe(firsts[0]?.text as string);
      }
    }
  });

  test("while the first request is still running (hashing a password), a concurrent one is 409 in use, with Retry-After", async () => {
    const t = setup();
    const createUser = () =>
      t.call("POST", "/v1/users", {
        key: t.live,
        body: {
          email: "ops@example.com",
          password: "a long enough password",
          entity_id: t.platform,
        },
        headers: { "idempotency-key": "create-user-0001" },
      });
    const replies = await Promise.all(Array.from({ length: 10 }, createUser));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    const inUse = replies.filter((r) => r.status === 409);
    expect(inUse).toHaveLength(9);
    for (const reply of inUse) {
      expect(codeOf(reply)).toBe("idempotency_key_in_use");
      expect(reply.headers.get("retry-after")).toBe("1");
    }
    const again = await createUser();
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.text).toBe((replies.find((r) => r.status === 200) as { text: string }).text);
  });

  test("live and test keys of one entity never share results", async () => {
    const t = setup();
    const live = await createKey(t, "shared-key-0001");
    const test_ = await createKey(t, "shared-key-0001", { key: t.test });
    expect([live.status, test_.status]).toEqual([200, 200]);
    expect(test_.headers.get("idempotent-replayed")).toBeNull();
    expect(test_.body.livemode).toBe(false);
    expect(test_.body.secret).not.toBe(live.body.secret);
  });

  test("a retry after the caller's key was rotated is still replayed: results belong to the entity and environment, not to a secret", async () => {
    const t = setup();
    const first = await createKey(t, "rotated-retry-0001");
    expect(first.status).toBe(200);
    const me = await t.call("GET", "/v1/me", { key: t.live });
    const rotated = rotateApiKey(t.kg, me.body.key.id, 0, TEST_ACTOR);
    // The old secret died with the rotation: its retry is refused before the lookup.
    expect((await createKey(t, "rotated-retry-0001")).status).toBe(401);
    const retry = await createKey(t, "rotated-retry-0001", { key: rotated.secret });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.text).toBe(first.text);
    expect(keysNamed(t, "checkout")).toBe(1);
    expect(recordedResults(t)).toBe(1);
  });

  test("rejected requests (401, 429) leave the key unused", async () => {
    const t = setup({ rate_limits: { default: { limit: 1, window_seconds: 1 } } });
    const unauthenticated = await createKey(t, "rejected-0001", {
      key: tampered(t.live),
    });
    expect(unauthenticated.status).toBe(401);
    await t.call("GET", "/v1/me", { key: t.live }); // uses up this second's request
    const limited = await createKey(t, "rejected-0001");
    expect([limited.status, codeOf(limited)]).toEqual([429, "rate_limited"]);
    expect(recordedResults(t)).toBe(0);
    t.clock.advance(1);
    const first = await createKey(t, "rejected-0001");
    expect([first.status, first.headers.get("idempotent-replayed")]).toEqual([200, null]);
    t.clock.advance(1);
    expect((await createKey(t, "rejected-0001")).headers.get("idempotent-replayed")).toBe("true");
  });

  test("an error the handler produced is recorded and replayed; a 403 it raised is not", async () => {
    const t = setup();
    const missing = await createKey(t, "handler-error-01", {
      body: { name: "x", scopes: [], entity_id: "ent_doesnotexist" },
    });
    expect([missing.status, codeOf(missing)]).toEqual([404, "resource_missing"]);
    const replayed = await createKey(t, "handler-error-01", {
      body: { name: "x", scopes: [], entity_id: "ent_doesnotexist" },
    });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.text).toBe(missing.text);

    // A key holding api_keys:write only cannot grant links:write: 403, not recorded.
    const narrow = await createKey(t, null, {
      body: { name: "narrow", scopes: ["api_keys:write"] },
    });
    const forbidden = await createKey(t, "handler-error-02", {
      key: narrow.body.secret,
      body: { name: "wide", scopes: ["links:write"] },
    });
    expect([forbidden.status, codeOf(forbidden)]).toEqual([403, "insufficient_scope"]);
    expect(recordedResults(t)).toBe(1);
  });

  test("a narrower key of the same entity cannot replay what a wider key obtained", async () => {
    const t = setup();
    const narrow = await createKey(t, null, {
      body: { name: "narrow", scopes: ["api_keys:write"] },
    });
    const wide = await createKey(t, "escalation-0001", {
      body: { name: "wide", scopes: ["links:write"] },
    });
    expect(wide.status).toBe(200);
    const attempt = await createKey(t, "escalation-0001", {
      key: narrow.body.secret,
      body: { name: "wide", scopes: ["links:write"] },
    });
    expect([attempt.status, codeOf(attempt)]).toEqual([403, "insufficient_scope"]);
    expect(attempt.text).not.toContain(wide.body.secret);
  });

  test("nor a key allowed fewer requests, or living shorter, than the key that recorded it", async () => {
    const t = setup();
    const partner = createEntity(
      t.kg,
      { kind: "partner", name: "P", parentId: t.platform },
      TEST_ACTOR,
    );
    const key = (name: string, extra: object) =>
      createApiKey(
        t.kg,
        {
          entityId: partner.id,
          environment: "live",
          name,
          scopes: ["api_keys:write", "links:read"],
          ...extra,
        },
        TEST_ACTOR,
      );
    const fast = key("fast", { rateLimit: { limit: 1000, window_seconds: 1 } });
    const plain = key("plain", {});
    const lent = key("lent", { expiresAt: new Date(t.clock.now().getTime() + 7 * 86_400_000) });
    const make = (caller: string, idempotencyKey: string, body: object) =>
      createKey(t, idempotencyKey, { key: caller, body: { scopes: ["links:read"], ...body } });

    const quick = { name: "quick", rate_limit: { limit: 500, window_seconds: 1 } };
    const first = await make(fast.secret, "escalation-0002", quick);
    expect(first.status).toBe(200);
    const slower = await make(plain.secret, "escalation-0002", quick);
    expect([slower.status, codeOf(slower)]).toEqual([403, "access_denied"]);
    expect(slower.body.error.message).toContain("allowed more requests");
    expect(slower.text).not.toContain(first.body.secret);
    // The key that recorded it still gets its replay.
    expect((await make(fast.secret, "escalation-0002", quick)).text).toBe(first.text);

    const lasting = await make(plain.secret, "escalation-0003", { name: "lasting" });
    expect(lasting.status).toBe(200);
    const shorter = await make(lent.secret, "escalation-0003", { name: "lasting" });
    expect([shorter.status, codeOf(shorter)]).toEqual([403, "access_denied"]);
    expect(shorter.body.error.message).toContain("living longer");
    expect(shorter.text).not.toContain(lasting.body.secret);
  });

  test("after 24 hours the key is new again", async () => {
    const t = setup();
    const first = await createKey(t, "expiring-0001");
    t.clock.advance(24 * 3600 - 1);
    expect((await createKey(t, "expiring-0001")).text).toBe(first.text);
    t.clock.advance(1);
    const fresh = await createKey(t, "expiring-0001");
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body.id).not.toBe(first.body.id);
    expect(keysNamed(t, "checkout")).toBe(2);
  });

  test("the window is configurable", async () => {
    const t = setup({ idempotency: { ttl_seconds: 60 } });
    await createKey(t, "expiring-0002");
    t.clock.advance(60);
    expect((await createKey(t, "expiring-0002")).headers.get("idempotent-replayed")).toBeNull();
  });

  test("a response over the size cap is sent, not kept: a retry is 409 idempotency_result_too_large and does not run", async () => {
    const t = setup({ idempotency: { max_response_bytes: 100 } });
    const first = await createKey(t, "too-large-0001");
    expect(first.status).toBe(200);
    expect(first.body.secret).toMatch(/^sk_live_/);
    const retry = await createKey(t, "too-large-0001");
    expect([retry.status, codeOf(retry)]).toEqual([409, "idempotency_result_too_large"]);
    expect(retry.body.error.message).toContain("status 200");
    expect(keysNamed(t, "checkout")).toBe(1);
  });

  test("the result is an event of the key's stream, with who and which request, and no plaintext", async () => {
    const t = setup();
    const first = await createKey(t, "audited-0001");
    const [event] = t.kg.store.readStream(`idempotency:${t.platform}:live:audited-0001`);
    expect(event?.type).toBe("idempotency.recorded");
    expect(event?.metadata.request_id).toBe(first.headers.get("x-request-id") as string);
    expect(event?.metadata.actor).toMatch(/^key_/);
    expect(JSON.stringify(event)).not.toContain(first.body.secret);
  });

  test("turned off, the header is ignored", async () => {
    const t = setup({ idempotency: { enabled: false } });
    await createKey(t, "ignored-0001");
    await createKey(t, "ignored-0001");
    expect(keysNamed(t, "checkout")).toBe(2);
  });
});

/**
 * The idempotency plugin mounted in an ordinary Elysia app (plugin use): handlers of every
 * response shape, server errors, and the handler-call count that proves exactly-once.
 */
import { describe, expect, test } from "bun:test";
import { Elysia, status } from "elysia";
import { initPlatform } from "../../src/commands/init.ts";
import { keygateGuard } from "../../src/http/guard.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { idempotencyPlugin } from "../../src/idempotency/index.ts";
import { FakeClock, TEST_ACTOR, testKeygate } from "../support/keygate.ts";

function shop(config: object = {}) {
  const kg = testKeygate({ clock: new FakeClock(), config });
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const { keys } = init;
  const calls = { charge: 0, fail: 0, text: 0, created: 0, broken: 0 };
  const app = new Elysia({ normalize: false })
    .use(requestContext({}, () => {}))
    .use(idempotencyPlugin(kg, () => {}))
    .use(keygateGuard(kg))
    .post(
      "/charges",
      ({ set }) => {
        calls.charge += 1;
        set.status = 201;
        set.headers.location = `/charges/ch_${calls.charge}`;
        return { id: `ch_${calls.charge}`, amount: 100 };
      },
      { scopes: ["charges:write"] },
    )
    .post(
      "/fail",
      () => {
        calls.fail += 1;
        throw new Error("the upstream ledger is down");
      },
      { scopes: [] },
    )
    .post(
      "/created",
      () => {
        calls.created += 1;
        return status(201, { id: `ch_${calls.created}` });
      },
      { scopes: [] },
    )
    .post(
      "/broken",
      () => {
        calls.broken += 1;
        return { amount: 10n }; // a BigInt: the response cannot be serialised
      },
      { scopes: [] },
    )
    .post(
      "/receipt",
      () => {
        calls.text += 1;
        return new Response(`receipt ${calls.text}`, {
          status: 202,
          headers: { "content-type": "text/x-receipt", "content-language": "en" },
        });
      },
      { scopes: [] },
    );
  const post = async (path: string, key: string) => {
    const response = await app.handle(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.live}`, "idempotency-key": key },
        body: "amount=100",
      }),
    );
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  return { kg, calls, post, close: () => kg.close() };
}

describe("the idempotency plugin in any Elysia app", () => {
  test("a JSON handler runs once; status, body and content headers (Location too) replay", async () => {
    const s = shop();
    const first = await s.post("/charges", "charge-0001");
    const again = await s.post("/charges", "charge-0001");
    expect(s.calls.charge).toBe(1);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("location")).toBe("/charges/ch_1");
    expect(again.headers.get("content-type")).toBe(first.headers.get("content-type"));
    s.close();
  });

  test("a Response the handler built replays with its own status and content headers", async () => {
    const s = shop();
    const first = await s.post("/receipt", "receipt-0001");
    const again = await s.post("/receipt", "receipt-0001");
    expect(s.calls.text).toBe(1);
    expect([again.status, again.text]).toEqual([202, "receipt 1"]);
    expect(again.headers.get("content-type")).toBe("text/x-receipt");
    expect(again.headers.get("content-language")).toBe("en");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    s.close();
  });

  test("a status() response replays with its status", async () => {
    const s = shop();
    const first = await s.post("/created", "created-0001");
    const again = await s.post("/created", "created-0001");
    expect([first.status, again.status, again.text]).toEqual([201, 201, '{"id":"ch_1"}']);
    expect(s.calls.created).toBe(1);
    s.close();
  });

  test("when a response cannot even be serialised, the key is freed, not left in use", async () => {
    const s = shop();
    const first = await s.post("/broken", "broken-0001");
    const again = await s.post("/broken", "broken-0001");
    expect([first.status, again.status]).toEqual([500, 500]);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(s.calls.broken).toBe(2);
    s.close();
  });

  test("a response that cannot be recorded is not sent: 500 api_error, and no event without its data key", async () => {
    const s = shop();
    s.kg.db.sql.exec("DROP TABLE idempotency_data_keys"); // the data key's insert now fails
    const reply = await s.post("/charges", "charge-0003");
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.text).error.code).toBe("api_error");
    expect(reply.text).not.toContain("ch_1");
    const recorded = s.kg.db.sql
      .prepare<{ n: number }>(
        "SELECT COUNT(*) AS n FROM events WHERE type = 'idempotency.recorded'",
      )
      .get();
    expect(recorded?.n).toBe(0);
    // The key is free again: the retry runs (and fails to record) rather than being "in use".
    expect((await s.post("/charges", "charge-0003")).status).toBe(500);
    expect(s.calls.charge).toBe(2);
    s.close();
  });

  test("a 5xx is recorded and replayed by default: the retry does not run the handler again", async () => {
    const s = shop();
    const first = await s.post("/fail", "failing-0001");
    const again = await s.post("/fail", "failing-0001");
    expect([first.status, again.status]).toEqual([500, 500]);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(s.calls.fail).toBe(1);
    s.close();
  });

  test("with record_server_errors off, a retry after a 5xx runs afresh", async () => {
    const s = shop({ idempotency: { record_server_errors: false } });
    await s.post("/fail", "failing-0002");
    await s.post("/fail", "failing-0002");
    expect(s.calls.fail).toBe(2);
    s.close();
  });

  test("the methods are configurable: with PUT only, POST ignores the header", async () => {
    const s = shop({ idempotency: { methods: ["PUT"] } });
    await s.post("/charges", "charge-0002");
    await s.post("/charges", "charge-0002");
    expect(s.calls.charge).toBe(2);
    s.close();
  });
});

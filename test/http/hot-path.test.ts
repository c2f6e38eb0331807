import { afterEach, describe, expect, test } from "bun:test";
import { testApp } from "../support/http.ts";

let close: (() => void) | undefined;
afterEach(() => close?.());

describe("the hot path", () => {
  test("GET /v1/me with a warm key runs no SQLite query", async () => {
    const t = testApp();
    close = () => t.kg.db.close(); // not kg.close(): its usage flush needs a table dropped below
    expect((await t.call("GET", "/v1/me", { key: t.live })).status).toBe(200); // warms the key index
    // Any query against these tables would now fail with a 500.
    for (const table of ["api_key_secrets", "api_keys", "entities", "api_key_usage"])
      t.kg.db.sql.exec(`DROP TABLE ${table}`);
    const reply = await t.call("GET", "/v1/me", { key: t.live });
    expect(reply.status).toBe(200);
    expect(reply.body.key.last_used_at).toBe(t.clock.now().toISOString());
    expect(t.internalErrors).toEqual([]);
  });
});

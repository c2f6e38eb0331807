import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openKeygate } from "../../src/app/keygate.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createApp } from "../../src/http/app.ts";
import { FakeClock, tempDir } from "../support/keygate.ts";

describe("last_used_at", () => {
  test("is visible at once, written in batches (not per request), and survives a restart", async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "kg.sqlite");
      const clock = new FakeClock("2026-02-01T10:00:00.000Z");
      let kg = openKeygate(loadConfig({ KEYGATE_DB: path }), { now: clock.now });
      const init = initPlatform(kg, { actor: "test", request_id: null });
      if (!init.created) throw new Error("fresh database expected");
      const app = createApp(kg, { accessLog: false });
      const me = () =>
        app.handle(
          new Request("http://localhost/v1/me", {
            headers: { authorization: `Bearer ${init.keys.live}` },
          }),
        );

      const first = (await (await me()).json()) as { key: { id: string; last_used_at: string } };
      expect(first.key.last_used_at).toBe("2026-02-01T10:00:00.000Z");
      clock.advance(5);
      for (let i = 0; i < 20; i++) await me();
      // Twenty requests, no row written yet.
      expect(kg.db.sql.prepare("SELECT COUNT(*) AS n FROM api_key_usage").get()).toEqual({ n: 0 });
      const listed = await app.handle(
        new Request("http://localhost/v1/api-keys", {
          headers: { authorization: `Bearer ${init.keys.live}` },
        }),
      );
      const live = (
        (await listed.json()) as { data: { id: string; last_used_at: string | null }[] }
      ).data.find((k) => k.id === first.key.id);
      expect(live?.last_used_at).toBe("2026-02-01T10:00:05.000Z");

      expect(kg.usage.flush()).toBe(1);
      expect(kg.db.sql.prepare("SELECT COUNT(*) AS n FROM api_key_usage").get()).toEqual({ n: 1 });
      kg.close();

      kg = openKeygate(loadConfig({ KEYGATE_DB: path }), { now: clock.now });
      expect(kg.usage.lastUsedAt(first.key.id)).toBe("2026-02-01T10:00:05.000Z");
      kg.close();
    } finally {
      remove();
    }
  });
});

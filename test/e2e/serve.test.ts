import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { serveCommand } from "../support/target.ts";

const tmp = tempDir();
afterAll(tmp.remove);

describe("keygate serve (as the README starts it)", () => {
  test("on an empty database it runs init, prints the two platform keys once, and answers health checks", async () => {
    const env = { KEYGATE_DB: join(tmp.dir, "serve", "keygate.sqlite") };
    const first = await startServer(env);
    try {
      expect(first.startupOutput).toMatch(/live: sk_live_[0-9A-Za-z]{32}/);
      expect(first.startupOutput).toMatch(/test: sk_test_[0-9A-Za-z]{32}/);
      const health = await fetch(`${first.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });
    } finally {
      await first.stop();
    }

    const second = await startServer(env);
    try {
      expect(second.startupOutput).not.toMatch(/sk_(live|test)_/);
      expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  test("a bad config file stops the start with a message naming the field", async () => {
    const config = join(tmp.dir, "bad-serve.json");
    writeFileSync(config, JSON.stringify({ port: -1 }));
    const { cmd, cwd } = serveCommand();
    const child = Bun.spawn(cmd, {
      cwd,
      env: { ...process.env, KEYGATE_CONFIG: config, KEYGATE_DB: join(tmp.dir, "bad", "k.sqlite") },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await child.exited).toBe(1);
    expect(await new Response(child.stderr).text()).toMatch(
      /bad-serve.json: port: Expected integer to be greater or equal to 0/,
    );
  });
});

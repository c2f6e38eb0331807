import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startPreset } from "../support/preset.ts";
import { startServer } from "../support/server.ts";
import { serveCommand } from "../support/target.ts";

const tmp = tempDir();
afterAll(tmp.remove);

/** Runs `serve` with `env` added, expecting it to stop by itself; its exit code and output. */
async function runServeToExit(env: Record<string, string>) {
  const { cmd, cwd } = serveCommand();
  const child = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

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

  test("access lines go to stdout, one JSON line per request, unless KEYGATE_ACCESS_LOG=off", async () => {
    const db = join(tmp.dir, "access", "keygate.sqlite");
    const accessLines = (output: string) =>
      output.split("\n").filter((line) => line.startsWith("{") && line.includes('"request_id"'));
    for (const [setting, expected] of [
      ["stdout", 2],
      ["off", 0],
    ] as const) {
      const server = await startServer({ KEYGATE_DB: db, KEYGATE_ACCESS_LOG: setting });
      try {
        await fetch(`${server.url}/healthz`);
        await fetch(`${server.url}/v1/me`);
      } finally {
        await server.stop();
      }
      const lines = accessLines(server.output());
      expect(lines).toHaveLength(expected);
      if (expected > 0)
        expect(lines.map((line) => JSON.parse(line).status).sort()).toEqual([200, 401]);
    }
  });

  test("bodies over 1 MiB get 413 and bodies nested thousands deep get 400, in the envelope", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "bodies", "keygate.sqlite") });
    try {
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      const post = (body: string) =>
        fetch(`${server.url}/v1/api-keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${live}`, "content-type": "application/json" },
          body,
        });
      const large = await post(JSON.stringify({ name: "x".repeat(2 * 1024 * 1024), scopes: [] }));
      expect(large.status).toBe(413);
      expect(((await large.json()) as { error: { code: string } }).error.code).toBe(
        "request_too_large",
      );
      const deep = await post(`{"name":${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
      expect(deep.status).toBe(400);
      expect(((await deep.json()) as { error: { message: string } }).error.message).toContain(
        "deeper than 32 levels",
      );
    } finally {
      await server.stop();
    }
  });

  test("behind a trusted proxy, failed authentications are counted per forwarded client, not for everyone", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "proxy", "keygate.sqlite") });
    try {
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      // The test connects over loopback: a trusted proxy by default (gateway.trusted_proxies).
      const me = (client: string, key: string) =>
        fetch(`${server.url}/v1/me`, {
          headers: { authorization: `Bearer ${key}`, "x-real-ip": client },
        });
      const wrong = `sk_live_${"0".repeat(32)}`;
      for (let i = 0; i < 30; i++) await (await me("203.0.113.7", wrong)).arrayBuffer();
      expect((await me("203.0.113.7", live as string)).status).toBe(429);
      expect((await me("203.0.113.8", live as string)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("GET /metrics: open to a scraper on loopback, closed to a client a local proxy forwards", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "metrics", "keygate.sqlite") });
    try {
      const scrape = (headers: Record<string, string> = {}) =>
        fetch(`${server.url}/metrics`, { headers });
      const local = await scrape();
      expect(local.status).toBe(200);
      expect(await local.text()).toContain("# TYPE");
      const forwardedBy: Record<string, string>[] = [
        { "x-real-ip": "203.0.113.9" },
        { "x-forwarded-for": "203.0.113.9" },
      ];
      for (const forwarded of forwardedBy) {
        const through = await scrape(forwarded);
        expect(through.status).toBe(403);
        await through.arrayBuffer();
      }
    } finally {
      await server.stop();
    }
  });

  test("SIGTERM lets a request in flight finish before the server exits", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "graceful"));
    try {
      let arrived: () => void = () => {};
      const atUpstream = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      calmony.upstream.answer(async () => {
        arrived();
        await Bun.sleep(400);
        return Response.json({ object: "payment", slow: true });
      });
      const inFlight = fetch(`${calmony.server.url}/v1/payments`, {
        headers: { authorization: `Bearer ${calmony.live}` },
      });
      await atUpstream;
      calmony.server.process.kill("SIGTERM");
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ object: "payment", slow: true });
      expect(await calmony.server.process.exited).toBe(0);
    } finally {
      await calmony.stop();
    }
  });

  test("a port another server holds stops the start, before any key is made; the first server keeps every request", async () => {
    const first = await startServer({ KEYGATE_DB: join(tmp.dir, "port-a", "keygate.sqlite") });
    try {
      const port = new URL(first.url).port;
      const second = await runServeToExit({
        KEYGATE_PORT: port,
        KEYGATE_DB: join(tmp.dir, "port-b", "keygate.sqlite"),
      });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`KEYGATE_PORT ${port} is in use by another process`);
      expect(second.stdout).not.toMatch(/sk_(live|test)_/);
      // Nothing shares the port: every request reaches the first server's database.
      const live = first.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      for (let i = 0; i < 20; i++) {
        const me = await fetch(`${first.url}/v1/me`, {
          headers: { authorization: `Bearer ${live}` },
        });
        expect(me.status).toBe(200);
      }
    } finally {
      await first.stop();
    }
  });

  test("a KEYGATE_ACCESS_LOG that is neither stdout nor off stops the start", async () => {
    const run = await runServeToExit({
      KEYGATE_ACCESS_LOG: "verbose",
      KEYGATE_DB: join(tmp.dir, "bad-log", "k.sqlite"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KEYGATE_ACCESS_LOG: "verbose" is neither "stdout" nor "off"');
  });

  test("a bad config file stops the start with a message naming the field", async () => {
    const config = join(tmp.dir, "bad-serve.json");
    writeFileSync(config, JSON.stringify({ port: -1 }));
    const run = await runServeToExit({
      KEYGATE_CONFIG: config,
      KEYGATE_DB: join(tmp.dir, "bad", "k.sqlite"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /bad-serve.json: port: Expected integer to be greater or equal to 0/,
    );
  });
});

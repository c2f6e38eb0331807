import { afterEach, expect, test } from "bun:test";
import { connect } from "node:net";
import { Elysia } from "elysia";
import { type Listening, listen } from "../../src/cli/listen.ts";

let serving: Listening | undefined;
afterEach(async () => {
  await serving?.stop();
  serving = undefined;
});

test("serves in production mode whatever NODE_ENV says: no stack traces in error pages", async () => {
  expect(process.env.NODE_ENV).not.toBe("production");
  const app = new Elysia().get("/", () => "ok");
  serving = listen(app, { port: 0, host: "127.0.0.1", tls: undefined, idleTimeoutSeconds: 30 });
  expect(app.server?.development).toBe(false);
  const reply = await fetch(`http://127.0.0.1:${serving.port}/`);
  expect(await reply.text()).toBe("ok");
});

test("closes a connection silent for idle_timeout_seconds (Bun's server; 30 s unless configured)", async () => {
  const app = new Elysia().get("/", () => "ok");
  serving = listen(app, { port: 0, host: "127.0.0.1", tls: undefined, idleTimeoutSeconds: 1 });
  const port = serving.port;
  const socket = connect(port, "127.0.0.1", () =>
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
  );
  const answered = new Promise<number>((resolve) => socket.once("data", () => resolve(Date.now())));
  const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now())));
  const at = await answered;
  // Kept alive, then silent: closed within a tick or two of the server's idle timer (~4 s each).
  expect((await closed) - at).toBeLessThan(9_000);
}, 20_000);

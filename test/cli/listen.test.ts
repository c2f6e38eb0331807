import { afterEach, expect, test } from "bun:test";
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
  serving = listen(app, { port: 0, host: "127.0.0.1", tls: undefined });
  expect(app.server?.development).toBe(false);
  const reply = await fetch(`http://127.0.0.1:${serving.port}/`);
  expect(await reply.text()).toBe("ok");
});

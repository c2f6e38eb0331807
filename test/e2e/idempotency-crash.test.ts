/**
 * SPEC §5, black-box: a result acknowledged to the client survives `kill -9`. The server is
 * started as the README starts it, killed without a chance to flush anything, restarted on
 * the same database, and the retry is replayed byte for byte.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";

const tmp = tempDir();
afterAll(tmp.remove);

test("record a result, kill -9 the server, restart: the retry is still replayed", async () => {
  const db = join(tmp.dir, "crash", "keygate.sqlite");
  const first = await startServer({ KEYGATE_DB: db });
  const platformLive = /live: (sk_live_\S+)/.exec(first.startupOutput)?.[1] as string;
  const createKey = (url: string) =>
    fetch(`${url}/v1/api-keys`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${platformLive}`,
        "content-type": "application/json",
        "idempotency-key": "crash-test-0001",
      },
      body: JSON.stringify({ name: "survives", scopes: ["links:read"] }),
    });

  const original = await createKey(first.url);
  const originalText = await original.text();
  expect(original.status).toBe(200);
  await first.crash();
  // Gone, not merely detached from the test: nothing answers on its port any more.
  expect(
    await fetch(`${first.url}/healthz`).then(
      () => "answered",
      () => "refused",
    ),
  ).toBe("refused");

  const second = await startServer({ KEYGATE_DB: db });
  try {
    const retry = await createKey(second.url);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.text()).toBe(originalText);
    expect(JSON.parse(originalText).secret).toMatch(/^sk_live_/);
  } finally {
    await second.stop();
  }
}, 30_000);

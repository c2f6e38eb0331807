/**
 * Forward-auth behind Caddy, black-box: a real Caddy running docs/forward-auth/Caddyfile
 * (`forward_auth`, `X-Forwarded-Method` / `X-Forwarded-Uri`) in front of a stub upstream,
 * asking the real Keygate server, started as the README starts it, about every request. The
 * contract every proxy is held to (test/support/forward-auth.ts), then what is Caddy's own: it
 * passes a client's `X-Real-IP` on, and its `copy_headers` copies a placeholder's text for a
 * field Keygate's answer lacks.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { startCaddy } from "../support/caddy.ts";
import {
  bearer,
  forwardAuthContract,
  json,
  rawGet,
  startKeygateForProxy,
} from "../support/forward-auth.ts";
import { tempDir } from "../support/keygate.ts";
import { answerWithOwnIdsAndLimits } from "../support/upstream.ts";

const context = forwardAuthContract({
  name: "Caddy",
  start: startCaddy,
  uriHeader: "X-Forwarded-Uri",
  otherPair: { method: "x-original-method", uri: "x-original-uri" },
  // A fragment is not passed as sent: see the test below.
  disguisedAsSent: [],
});

test("behind Caddy, a '#' in the path reaches Keygate and the upstream alike, encoded: what is judged is what is served", async () => {
  const { proxy, upstream, platformKey } = context;
  upstream.calls.length = 0;
  const reply = await rawGet(proxy.url, "/links/lnk_1#x", bearer(platformKey));
  expect(reply.status).toBe(200);
  expect(upstream.calls.map((call) => call.url)).toEqual(["/links/lnk_1%23x"]);
});

test("behind Caddy, a client naming another address in each X-Real-IP still meets the failed-authentication limit, and honest clients do not", async () => {
  // Caddy sets X-Forwarded-For to the client's address and passes a client's X-Real-IP on;
  // Keygate believes neither when they disagree, so these guesses share one bucket.
  const guess = (n: number) =>
    fetch(`${context.proxy.url}/links/lnk_1`, {
      headers: { authorization: `Bearer sk_live_${"x".repeat(32)}`, "x-real-ip": `10.0.0.${n}` },
    });
  for (let n = 1; n <= 30; n++) expect((await guess(n)).status).toBe(401);
  const refused = await guess(31);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await json(refused)).error.code).toBe("rate_limited");
  const honest = await fetch(`${context.proxy.url}/links/lnk_1`, {
    headers: bearer(context.platformKey),
  });
  expect(honest.status).toBe(200);
  await honest.arrayBuffer();
});

test("with Keygate's rate limits off, the client gets the upstream's own limits, and Keygate's request id", async () => {
  const off = tempDir();
  const { keygate, upstream, platformKey } = await startKeygateForProxy(off.dir, {
    rate_limits: { enabled: false },
  });
  upstream.answer(answerWithOwnIdsAndLimits);
  const proxy = await startCaddy(join(off.dir, "caddy"), {
    keygate: keygate.url,
    upstream: upstream.url,
  });
  try {
    const reply = await fetch(`${proxy.url}/anything`, { headers: bearer(platformKey) });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-ratelimit-limit")).toBe("5000");
    expect(reply.headers.get("ratelimit")).toBe('"upstream";r=4999;t=60');
    expect(reply.headers.get("x-request-id")).toMatch(/^req_\w+$/);
    expect(reply.headers.get("x-request-id")).not.toBe("req_upstream");
    await reply.arrayBuffer();
  } finally {
    await proxy.stop();
    await keygate.stop();
    upstream.stop();
    off.remove();
  }
}, 30_000);

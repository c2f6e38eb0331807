/**
 * Forward-auth behind Caddy, black-box: a real Caddy running docs/forward-auth/Caddyfile in
 * front of a stub upstream, asking the real Keygate server (started as the README starts it)
 * about every request with `X-Forwarded-Method` / `X-Forwarded-Uri`. Allowed requests reach
 * the upstream with Keygate's identity headers over any the client forged, and without the
 * credential; refused and rate-limited ones get Keygate's status, headers and envelope and
 * never reach it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { type RunningCaddy, startCaddy } from "../support/caddy.ts";
import { tempDir } from "../support/keygate.ts";
import { type RunningServer, startServer } from "../support/server.ts";
import {
  answerWithOwnIdsAndLimits,
  echo,
  type StubUpstream,
  startUpstream,
} from "../support/upstream.ts";

const tmp = tempDir();
let keygate: RunningServer;
let caddy: RunningCaddy;
let upstream: StubUpstream;
let platformKey: string;

beforeAll(async () => {
  const config = join(tmp.dir, "keygate.json");
  writeFileSync(
    config,
    JSON.stringify({
      gateway: {
        routes: [
          { method: "GET", path: "/links/:id", scopes: ["links:read"] },
          {
            method: "POST",
            path: "/links",
            scopes: ["links:write"],
            rate_limit: { limit: 2, window_seconds: 3600 },
          },
        ],
      },
    }),
  );
  upstream = startUpstream();
  keygate = await startServer({
    KEYGATE_DB: join(tmp.dir, "db", "keygate.sqlite"),
    KEYGATE_CONFIG: config,
  });
  platformKey = /live: (sk_live_\S+)/.exec(keygate.startupOutput)?.[1] as string;
  caddy = await startCaddy(join(tmp.dir, "caddy"), {
    keygate: keygate.url,
    upstream: upstream.url,
  });
}, 30_000);

afterAll(async () => {
  await caddy?.stop();
  await keygate?.stop();
  upstream?.stop();
  tmp.remove();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** A response body, parsed (asserted field by field). */
const json = async (response: Response | undefined): Promise<any> => response?.json();

/** A key of the platform entity holding only `scopes`, created over the management API. */
async function keyHolding(scopes: string[]): Promise<string> {
  const created = await fetch(`${keygate.url}/v1/api-keys`, {
    method: "POST",
    headers: { ...bearer(platformKey), "content-type": "application/json" },
    body: JSON.stringify({ name: scopes.join(" "), scopes }),
  });
  return (await json(created)).secret;
}

test("allowed: the upstream gets the request with all five identity headers, forged ones overwritten, and no credential", async () => {
  upstream.calls.length = 0;
  const forged = {
    "x-keygate-key-id": "key_forged",
    "x-keygate-entity-id": "ent_forged",
    "x-keygate-entity-path": "ent_forged",
    "x-keygate-livemode": "false",
    "x-keygate-scopes": "*",
  };
  const reader = await keyHolding(["links:read"]);
  for (const credential of [bearer(platformKey), { "x-api-key": reader }]) {
    const reply = await fetch(`${caddy.url}/links/lnk_1?expand=1`, {
      headers: { ...credential, ...forged },
    });
    expect(reply.status).toBe(200);
    expect(await reply.json()).toMatchObject({ object: "echo", url: "/links/lnk_1?expand=1" });
    expect(reply.headers.get("x-request-id")).toMatch(/^req_\w+$/);
    expect(upstream.calls.at(-1)?.headers.get("x-request-id")).toBe(
      reply.headers.get("x-request-id"),
    );
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
  }
  expect(upstream.calls).toHaveLength(2);
  const [asPlatform, asReader] = upstream.calls.map((call) => call.headers);
  for (const seen of [asPlatform, asReader] as Headers[]) {
    expect(seen.get("authorization")).toBeNull();
    expect(seen.get("x-api-key")).toBeNull();
    expect(seen.get("x-ratelimit-limit")).toBeNull();
    expect(seen.get("x-keygate-key-id")).toMatch(/^key_\w+$/);
    expect(seen.get("x-keygate-entity-id")).toMatch(/^ent_\w+$/);
    expect(seen.get("x-keygate-entity-path")).toBe(seen.get("x-keygate-entity-id"));
    expect(seen.get("x-keygate-livemode")).toBe("true");
  }
  expect(asPlatform?.get("x-keygate-scopes")).toBe("*");
  expect(asReader?.get("x-keygate-scopes")).toBe("links:read");
  expect(asReader?.get("x-keygate-key-id")).not.toBe(asPlatform?.get("x-keygate-key-id"));
});

test("the client gets Keygate's request id, correlation id and limits, not the upstream's of the same names", async () => {
  upstream.answer(answerWithOwnIdsAndLimits);
  try {
    const reply = await fetch(`${caddy.url}/links/lnk_1`, {
      headers: { ...bearer(platformKey), "x-request-id": "req_forged" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-request-id")).toMatch(/^req_\w+$/);
    expect(reply.headers.get("x-request-id")).not.toBe("req_upstream");
    expect(reply.headers.get("x-request-id")).not.toBe("req_forged");
    expect(reply.headers.get("x-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
    expect(reply.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
    expect(reply.headers.get("ratelimit")).toStartWith('"default";r=');
    expect(reply.headers.get("ratelimit-policy")).toContain('"default";q=100;w=1');
    expect(reply.headers.get("x-upstream")).toBe("yes");
    await reply.arrayBuffer();
  } finally {
    upstream.answer(echo);
  }
});

test("refused: 401 without a key, 403 naming the missing scope, 404 off the routes — Keygate's envelope, nothing upstream", async () => {
  upstream.calls.length = 0;
  const missing = await fetch(`${caddy.url}/links/lnk_1`);
  expect(missing.status).toBe(401);
  expect(missing.headers.get("x-request-id")).toMatch(/^req_/);
  expect((await json(missing)).error.code).toBe("api_key_missing");

  const reader = await keyHolding(["links:read"]);
  const denied = await fetch(`${caddy.url}/links`, { method: "POST", headers: bearer(reader) });
  expect(denied.status).toBe(403);
  const envelope = await json(denied);
  expect(envelope.error.code).toBe("insufficient_scope");
  expect(envelope.error.message).toContain("links:write");

  const elsewhere = await fetch(`${caddy.url}/admin`, { headers: bearer(platformKey) });
  expect(elsewhere.status).toBe(404);
  expect((await json(elsewhere)).error.code).toBe("resource_missing");
  expect(upstream.calls).toHaveLength(0);
});

test("rate-limited: 429 with Retry-After and the envelope once the route's limit is spent", async () => {
  upstream.calls.length = 0;
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 4; i++) {
    last = await fetch(`${caddy.url}/links`, { method: "POST", headers: bearer(platformKey) });
    statuses.push(last.status);
    if (last.status !== 429) await last.arrayBuffer();
  }
  expect(statuses).toEqual([201, 201, 429, 429]);
  expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(last?.headers.get("x-ratelimit-remaining")).toBe("0");
  expect((await json(last)).error.type).toBe("rate_limited");
  expect(upstream.calls).toHaveLength(2);
});

/** Sends `GET <target>` exactly as written (fetch would tidy the path); the status and body. */
async function rawGet(base: string, target: string, headers: Record<string, string>) {
  const { host, hostname, port } = new URL(base);
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${host}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const socket = createConnection({ host: hostname, port: Number(port) });
  await new Promise((connected) => socket.once("connect", connected));
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  let text = "";
  for await (const chunk of socket) text += chunk.toString();
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), body };
}

test("a path the upstream could read differently from Keygate is refused at Caddy, not judged as another", async () => {
  upstream.calls.length = 0;
  // Caddy passes the URI as the client sent it in X-Forwarded-Uri, so an empty segment, a
  // needless encoding and a path parameter are seen and refused before an upstream that merges,
  // decodes or drops them could serve another route.
  for (const path of ["//admin/links/lnk_1", "/links/%6Cnk_1", "/links/lnk_1;a=b"]) {
    const disguised = await rawGet(caddy.url, path, bearer(platformKey));
    expect([path, disguised.status]).toEqual([path, 400]);
    expect(disguised.body).toContain('"param":"X-Forwarded-Uri"');
  }
  const override = await fetch(`${caddy.url}/links/lnk_1`, {
    headers: { ...bearer(platformKey), "x-http-method-override": "DELETE" },
  });
  expect(override.status).toBe(400);
  expect(await override.text()).toContain('"param":"x-http-method-override"');
  expect(upstream.calls).toHaveLength(0);
});

test("a client's own X-Original-Method / X-Original-URI beside Caddy's X-Forwarded-* is refused, not judged as the GET it names", async () => {
  upstream.calls.length = 0;
  const reader = await keyHolding(["links:read"]);
  const named = await fetch(`${caddy.url}/links`, {
    method: "POST",
    headers: {
      ...bearer(reader),
      "x-original-method": "GET",
      "x-original-uri": "/links/lnk_1",
    },
  });
  expect(named.status).toBe(400);
  expect((await json(named)).error.type).toBe("invalid_request");
  expect(upstream.calls).toHaveLength(0);
});

test("behind Caddy, a client naming another address in each X-Real-IP still meets the failed-authentication limit, and honest clients do not", async () => {
  // Caddy sets X-Forwarded-For to the client's address and passes a client's X-Real-IP on;
  // Keygate believes neither when they disagree, so these guesses share one bucket.
  const guess = (n: number) =>
    fetch(`${caddy.url}/links/lnk_1`, {
      headers: { authorization: `Bearer sk_live_${"x".repeat(32)}`, "x-real-ip": `10.0.0.${n}` },
    });
  for (let n = 1; n <= 30; n++) expect((await guess(n)).status).toBe(401);
  const refused = await guess(31);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  expect((await json(refused)).error.code).toBe("rate_limited");
  const honest = await fetch(`${caddy.url}/links/lnk_1`, { headers: bearer(platformKey) });
  expect(honest.status).toBe(200);
  await honest.arrayBuffer();
});

test("with Keygate's rate limits off, the client gets the upstream's own limits, and Keygate's request id", async () => {
  const off = tempDir();
  const config = join(off.dir, "keygate.json");
  writeFileSync(config, JSON.stringify({ rate_limits: { enabled: false } }));
  const unlimited = await startServer({
    KEYGATE_DB: join(off.dir, "db", "keygate.sqlite"),
    KEYGATE_CONFIG: config,
  });
  const ownLimits = startUpstream();
  ownLimits.answer(answerWithOwnIdsAndLimits);
  const proxy = await startCaddy(join(off.dir, "caddy"), {
    keygate: unlimited.url,
    upstream: ownLimits.url,
  });
  try {
    const key = /live: (sk_live_\S+)/.exec(unlimited.startupOutput)?.[1] as string;
    const reply = await fetch(`${proxy.url}/anything`, { headers: bearer(key) });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-ratelimit-limit")).toBe("5000");
    expect(reply.headers.get("ratelimit")).toBe('"upstream";r=4999;t=60');
    expect(reply.headers.get("x-request-id")).toMatch(/^req_\w+$/);
    expect(reply.headers.get("x-request-id")).not.toBe("req_upstream");
    await reply.arrayBuffer();
  } finally {
    await proxy.stop();
    await unlimited.stop();
    ownLimits.stop();
    off.remove();
  }
}, 30_000);

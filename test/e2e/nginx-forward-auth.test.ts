/**
 * Forward-auth, black-box: a real nginx running docs/forward-auth/nginx-server.conf in front
 * of a stub upstream, asking the real Keygate server (started as the README starts it) about
 * every request. Allowed requests reach the upstream with the identity headers; refused and
 * rate-limited ones get Keygate's status and envelope and never reach it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { type RunningNginx, startNginx } from "../support/nginx.ts";
import { type RunningServer, startServer } from "../support/server.ts";
import {
  answerWithOwnIdsAndLimits,
  echo,
  type StubUpstream,
  startUpstream,
} from "../support/upstream.ts";

const tmp = tempDir();
let keygate: RunningServer;
let nginx: RunningNginx;
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
  nginx = await startNginx(join(tmp.dir, "nginx"), {
    keygate: keygate.url,
    upstream: upstream.url,
  });
}, 30_000);

afterAll(async () => {
  await nginx?.stop();
  await keygate?.stop();
  upstream?.stop();
  tmp.remove();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** A response body, parsed (asserted field by field). */
const json = async (response: Response | undefined): Promise<any> => response?.json();

test("allowed: the upstream answers, and receives the identity but not the credential", async () => {
  upstream.calls.length = 0;
  const reply = await fetch(`${nginx.url}/links/lnk_1?expand=1`, {
    headers: { ...bearer(platformKey), "x-keygate-key-id": "key_forged" },
  });
  expect(reply.status).toBe(200);
  expect(await reply.json()).toMatchObject({ object: "echo", url: "/links/lnk_1?expand=1" });
  expect(reply.headers.get("x-request-id")).toMatch(/^req_/);
  expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
  expect(upstream.calls).toHaveLength(1);
  const seen = upstream.calls[0]?.headers as Headers;
  expect(seen.get("authorization")).toBeNull();
  expect(seen.get("x-keygate-key-id")).toMatch(/^key_/);
  expect(seen.get("x-keygate-key-id")).not.toBe("key_forged");
  expect(seen.get("x-keygate-entity-id")).toMatch(/^ent_/);
  expect(seen.get("x-keygate-livemode")).toBe("true");
  expect(seen.get("x-keygate-scopes")).toBe("*");
  expect(seen.get("x-request-id")).toBe(reply.headers.get("x-request-id"));
});

test("the client gets Keygate's request id and limits, not the upstream's of the same names beside them", async () => {
  upstream.answer(answerWithOwnIdsAndLimits);
  try {
    const reply = await fetch(`${nginx.url}/links/lnk_1`, { headers: bearer(platformKey) });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-request-id")).toMatch(/^req_\w+$/);
    expect(reply.headers.get("x-request-id")).not.toBe("req_upstream");
    expect(reply.headers.get("x-correlation-id")).not.toContain("upstream-correlation");
    expect(reply.headers.get("x-ratelimit-limit")).toBe("100");
    expect(reply.headers.get("ratelimit")).toStartWith('"default";r=');
    expect(reply.headers.get("ratelimit-policy")).toContain('"default";q=100;w=1');
    expect(reply.headers.get("x-upstream")).toBe("yes");
    await reply.arrayBuffer();
  } finally {
    upstream.answer(echo);
  }
});

test("refused: 401 without a key, 403 without the scope, 404 off the routes — with Keygate's envelope", async () => {
  upstream.calls.length = 0;
  const missing = await fetch(`${nginx.url}/links/lnk_1`);
  expect(missing.status).toBe(401);
  expect((await json(missing)).error.code).toBe("api_key_missing");

  const created = await fetch(`${keygate.url}/v1/api-keys`, {
    method: "POST",
    headers: { ...bearer(platformKey), "content-type": "application/json" },
    body: JSON.stringify({ name: "reader", scopes: ["links:read"] }),
  });
  const reader = (await json(created)).secret as string;
  const denied = await fetch(`${nginx.url}/links`, { method: "POST", headers: bearer(reader) });
  expect(denied.status).toBe(403);
  const envelope = await json(denied);
  expect(envelope.error.code).toBe("insufficient_scope");
  expect(envelope.error.message).toContain("links:write");
  expect((await fetch(`${nginx.url}/links/lnk_1`, { headers: bearer(reader) })).status).toBe(200);

  const elsewhere = await fetch(`${nginx.url}/admin`, { headers: bearer(platformKey) });
  expect(elsewhere.status).toBe(404);
  expect((await json(elsewhere)).error.code).toBe("resource_missing");
  expect(upstream.calls).toHaveLength(1);
});

test("rate-limited: 429 with Retry-After and the envelope once the route's limit is spent", async () => {
  upstream.calls.length = 0;
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 4; i++) {
    last = await fetch(`${nginx.url}/links`, { method: "POST", headers: bearer(platformKey) });
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
  const { hostname, port } = new URL(base);
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${hostname}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const socket = createConnection({ host: hostname, port: Number(port) });
  await new Promise((connected) => socket.once("connect", connected));
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  let text = "";
  for await (const chunk of socket) text += chunk.toString();
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), body };
}

test("a path the upstream could read differently from Keygate is refused at nginx, not judged as another", async () => {
  upstream.calls.length = 0;
  // nginx forwards `//admin/links/lnk_1` as sent; parsed as a URL it would read as host
  // `admin`, path `/links/lnk_1` — a route this key may use.
  const smuggled = await rawGet(nginx.url, "//admin/links/lnk_1", bearer(platformKey));
  expect(smuggled.status).toBe(400);
  expect(smuggled.body).toContain('"param":"X-Original-URI"');
  // nginx hands Keygate the URI as sent ($request_uri), so a needless encoding and a path
  // parameter are seen, and refused, before an upstream that decodes or drops them could serve
  // another route; so is a method override the upstream might honour.
  for (const path of ["/links/%6Cnk_1", "/links/lnk_1;a=b", "/links/lnk_1#x"]) {
    const disguised = await rawGet(nginx.url, path, bearer(platformKey));
    expect([path, disguised.status]).toEqual([path, 400]);
    expect(disguised.body).toContain('"param":"X-Original-URI"');
  }
  // nginx sets X-Original-*; a client's own X-Forwarded-Uri beside them is refused, not judged.
  const named = await fetch(`${nginx.url}/links`, {
    method: "POST",
    headers: {
      ...bearer(platformKey),
      "x-forwarded-method": "GET",
      "x-forwarded-uri": "/links/lnk_1",
    },
  });
  expect(named.status).toBe(400);
  const override = await fetch(`${nginx.url}/links/lnk_1`, {
    headers: { ...bearer(platformKey), "x-http-method-override": "DELETE" },
  });
  expect(override.status).toBe(400);
  expect(await override.text()).toContain('"param":"x-http-method-override"');
  expect(upstream.calls).toHaveLength(0);
});

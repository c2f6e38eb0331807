/**
 * What Keygate promises behind any forward-auth proxy, as tests each proxy's e2e file runs
 * (`forwardAuthContract`): Keygate started as the README starts it, with two gateway routes,
 * a stub upstream counting what reaches it, and the proxy between client and upstream asking
 * Keygate about every request.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { tempDir } from "./keygate.ts";
import type { RunningProxy } from "./proxy-process.ts";
import { type RunningServer, startServer } from "./server.ts";
import { answerWithOwnIdsAndLimits, echo, type StubUpstream, startUpstream } from "./upstream.ts";

/** Keygate and the upstream a proxy is to stand in front of, and the platform's live key. */
export interface ForwardAuthSetup {
  keygate: RunningServer;
  upstream: StubUpstream;
  platformKey: string;
}

/** The gateway routes the contract's requests go to: `GET /links/:id` and `POST /links` (2 an hour). */
const LINKS_ROUTES = {
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
};

/**
 * Starts the stub upstream and Keygate on a database under `dir`, configured with `config`
 * (by default `GET /links/:id`, `links:read`, and `POST /links`, `links:write`, 2 an hour).
 */
export async function startKeygateForProxy(
  dir: string,
  config: object = LINKS_ROUTES,
): Promise<ForwardAuthSetup> {
  const configFile = join(dir, "keygate.json");
  writeFileSync(configFile, JSON.stringify(config));
  const upstream = startUpstream();
  const keygate = await startServer({
    KEYGATE_DB: join(dir, "db", "keygate.sqlite"),
    KEYGATE_CONFIG: configFile,
  });
  const platformKey = /live: (sk_live_\S+)/.exec(keygate.startupOutput)?.[1] as string;
  return { keygate, upstream, platformKey };
}

/** Headers carrying `key` as a Bearer credential. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A response body, parsed (asserted field by field). */
export const json = async (response: Response | undefined): Promise<any> => response?.json();

/** Sends `GET <target>` exactly as written (fetch would tidy the path); the status and body. */
export async function rawGet(base: string, target: string, headers: Record<string, string>) {
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

/**
 * Sends `POST /links` through the proxy at `base` four times with `key`: the route's limit of
 * 2 lets two through and refuses the rest. The statuses, and the last answer.
 */
export async function spendLinksLimit(base: string, key: string) {
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 4; i++) {
    last = await fetch(`${base}/links`, { method: "POST", headers: bearer(key) });
    statuses.push(last.status);
    if (last.status !== 429) await last.arrayBuffer();
  }
  return { statuses, last };
}

/** A proxy under test: how to start it, and the header pair it names the original request by. */
export interface ProxyUnderTest {
  name: string;
  start(dir: string, site: { keygate: string; upstream: string }): Promise<RunningProxy>;
  /** The pair the proxy sets, by the URI header's name as an error's `param` gives it. */
  uriHeader: "X-Original-URI" | "X-Forwarded-Uri";
  /** The other pair, which only a client can have sent through this proxy. */
  otherPair: { method: string; uri: string };
  /** Request targets this proxy passes on as sent, which Keygate must refuse, beyond the common ones. */
  disguisedAsSent: string[];
}

/** The running setup, for a proxy's own further tests. */
export interface ForwardAuthContext extends ForwardAuthSetup {
  proxy: RunningProxy;
  /** A key of the platform entity holding only `scopes`, made over the management API. */
  keyHolding(scopes: string[]): Promise<string>;
}

/**
 * Starts the setup around `under` before the file's tests and stops it after them, and
 * registers the tests every proxy must pass. Returns the running setup (valid inside tests).
 */
export function forwardAuthContract(under: ProxyUnderTest): ForwardAuthContext {
  const tmp = tempDir();
  const context = {} as ForwardAuthContext;
  beforeAll(async () => {
    Object.assign(context, await startKeygateForProxy(tmp.dir));
    const { keygate, platformKey } = context;
    context.proxy = await under.start(join(tmp.dir, under.name), {
      keygate: keygate.url,
      upstream: context.upstream.url,
    });
    context.keyHolding = async (scopes) => {
      const created = await fetch(`${keygate.url}/v1/api-keys`, {
        method: "POST",
        headers: { ...bearer(platformKey), "content-type": "application/json" },
        body: JSON.stringify({ name: scopes.join(" "), scopes }),
      });
      return (await json(created)).secret;
    };
  }, 30_000);
  afterAll(async () => {
    await context.proxy?.stop();
    await context.keygate?.stop();
    context.upstream?.stop();
    tmp.remove();
  });

  test(`allowed behind ${under.name}: the upstream gets all five identity headers over forged ones, Keygate's request id, and no credential`, async () => {
    const { proxy, upstream, platformKey } = context;
    upstream.calls.length = 0;
    const forged = {
      "x-keygate-key-id": "key_forged",
      "x-keygate-entity-id": "ent_forged",
      "x-keygate-entity-path": "ent_forged",
      "x-keygate-livemode": "false",
      "x-keygate-scopes": "*",
    };
    const reader = await context.keyHolding(["links:read"]);
    for (const credential of [bearer(platformKey), { "x-api-key": reader }]) {
      const reply = await fetch(`${proxy.url}/links/lnk_1?expand=1`, {
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

  test(`behind ${under.name}, the client gets Keygate's request id, correlation id and limits, not the upstream's of the same names`, async () => {
    const { proxy, upstream, platformKey } = context;
    upstream.answer(answerWithOwnIdsAndLimits);
    try {
      const reply = await fetch(`${proxy.url}/links/lnk_1`, {
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

  test(`refused behind ${under.name}: 401 without a key, 403 naming the missing scope, 404 off the routes — Keygate's envelope, nothing upstream`, async () => {
    const { proxy, upstream, platformKey } = context;
    upstream.calls.length = 0;
    const missing = await fetch(`${proxy.url}/links/lnk_1`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("x-request-id")).toMatch(/^req_/);
    expect((await json(missing)).error.code).toBe("api_key_missing");

    const reader = await context.keyHolding(["links:read"]);
    const denied = await fetch(`${proxy.url}/links`, { method: "POST", headers: bearer(reader) });
    expect(denied.status).toBe(403);
    const envelope = await json(denied);
    expect(envelope.error.code).toBe("insufficient_scope");
    expect(envelope.error.message).toContain("links:write");

    const elsewhere = await fetch(`${proxy.url}/admin`, { headers: bearer(platformKey) });
    expect(elsewhere.status).toBe(404);
    expect((await json(elsewhere)).error.code).toBe("resource_missing");
    expect(upstream.calls).toHaveLength(0);
  });

  test(`rate-limited behind ${under.name}: 429 with Retry-After and the envelope once the route's limit is spent`, async () => {
    const { proxy, upstream, platformKey } = context;
    upstream.calls.length = 0;
    const { statuses, last } = await spendLinksLimit(proxy.url, platformKey);
    expect(statuses).toEqual([201, 201, 429, 429]);
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(last?.headers.get("x-ratelimit-remaining")).toBe("0");
    expect((await json(last)).error.type).toBe("rate_limited");
    expect(upstream.calls).toHaveLength(2);
  });

  test(`behind ${under.name}, a path the upstream could read differently from Keygate, or a method override, is refused, not judged as another route`, async () => {
    const { proxy, upstream, platformKey } = context;
    upstream.calls.length = 0;
    // The proxy hands Keygate the URI as sent, so an empty segment (`//admin/links/lnk_1`, host
    // `admin` and path `/links/lnk_1` to a URL parser), a needless encoding and a path parameter
    // are seen, and refused, before an upstream that merges, decodes or drops them could serve
    // another route.
    const common = ["//admin/links/lnk_1", "/links/%6Cnk_1", "/links/lnk_1;a=b"];
    for (const path of [...common, ...under.disguisedAsSent]) {
      const disguised = await rawGet(proxy.url, path, bearer(platformKey));
      expect([path, disguised.status]).toEqual([path, 400]);
      expect(disguised.body).toContain(`"param":"${under.uriHeader}"`);
    }
    const override = await fetch(`${proxy.url}/links/lnk_1`, {
      headers: { ...bearer(platformKey), "x-http-method-override": "DELETE" },
    });
    expect(override.status).toBe(400);
    expect(await override.text()).toContain('"param":"x-http-method-override"');
    expect(upstream.calls).toHaveLength(0);
  });

  test(`behind ${under.name}, a client's own ${under.otherPair.method} / ${under.otherPair.uri} naming a GET is refused, not judged in place of its POST`, async () => {
    const { proxy, upstream } = context;
    upstream.calls.length = 0;
    const reader = await context.keyHolding(["links:read"]);
    const named = await fetch(`${proxy.url}/links`, {
      method: "POST",
      headers: {
        ...bearer(reader),
        [under.otherPair.method]: "GET",
        [under.otherPair.uri]: "/links/lnk_1",
      },
    });
    expect(named.status).toBe(400);
    expect((await json(named)).error.type).toBe("invalid_request");
    expect(upstream.calls).toHaveLength(0);
  });

  return context;
}

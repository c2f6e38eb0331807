/**
 * The gateway as served, on each target: what the runtimes' own fetch and server would change
 * about an upstream's answer on its way to the client, and must not.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startPreset } from "../support/preset.ts";
import { sendRaw, startRawUpstream } from "../support/raw-http.ts";
import { startServer } from "../support/server.ts";
import { E2E_TARGET, ROOT } from "../support/target.ts";
import { startUpstream } from "../support/upstream.ts";

const tmp = tempDir();
afterAll(tmp.remove);

describe("the gateway passes the upstream's answer on", () => {
  test("a compressed upstream answer reaches the client intact: its body matches its Content-Encoding", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "gzip"));
    try {
      const payment = { object: "payment", note: "compressible ".repeat(50) };
      calmony.upstream.answer(({ headers }) => {
        const json = JSON.stringify(payment);
        // Like any server: compressed only for a client that accepts it.
        if (!/\bgzip\b/.test(headers.get("accept-encoding") ?? "")) return Response.json(payment);
        return new Response(Bun.gzipSync(json), {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
        });
      });
      const response = await fetch(`${calmony.server.url}/v1/payments`, {
        headers: { authorization: `Bearer ${calmony.live}`, "accept-encoding": "gzip" },
      });
      expect(response.status).toBe(200);
      // fetch decodes by Content-Encoding: a body sent decoded under a gzip label fails here.
      expect(await response.json()).toEqual(payment);
    } finally {
      await calmony.stop();
    }
  });

  test("a HEAD is answered with the upstream's Content-Length (the GET's), not 0", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "head"));
    try {
      const payment = JSON.stringify({ object: "payment", note: "x".repeat(700) });
      calmony.upstream.answer(
        () => new Response(payment, { headers: { "content-type": "application/json" } }),
      );
      const head = (path: string) =>
        fetch(`${calmony.server.url}${path}`, {
          method: "HEAD",
          headers: { authorization: `Bearer ${calmony.live}` },
        });
      for (const path of ["/v1/payments", "/v1/payments/pay_1"]) {
        const response = await head(path);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-length")).toBe(String(payment.length));
      }
      expect(calmony.upstream.calls.map((call) => call.method)).toEqual(["HEAD", "HEAD"]);
    } finally {
      await calmony.stop();
    }
  });

  test("the upstream answer's hop-by-hop headers stop at the gateway, a Location naming the upstream becomes the client's path, Keygate's own ids and limits win, the rest goes on", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "hop-by-hop"));
    try {
      calmony.upstream.answer(
        () =>
          new Response(JSON.stringify({ object: "payment" }), {
            status: 201,
            headers: {
              "content-type": "application/json",
              "keep-alive": "timeout=5",
              connection: "x-internal",
              "x-internal": "secret",
              "x-custom": "kept",
              location: `${calmony.upstream.url}/v1/payments/pay_1`,
              // Names Keygate answers with itself: its own values win.
              "x-request-id": "req_upstream",
              "x-ratelimit-remaining": "4999",
            },
          }),
      );
      const response = await fetch(`${calmony.server.url}/v1/payments`, {
        headers: { authorization: `Bearer ${calmony.live}` },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get("x-internal")).toBeNull();
      expect(response.headers.get("keep-alive")).toBeNull();
      expect(response.headers.get("x-custom")).toBe("kept");
      expect(response.headers.get("location")).toBe("/v1/payments/pay_1");
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
      expect(response.headers.get("x-request-id")).not.toBe("req_upstream");
      expect(response.headers.get("x-ratelimit-remaining")).not.toBe("4999");
      expect(await response.json()).toEqual({ object: "payment" });
      // The access log records the status the client got: the upstream's 201.
      const requestId = response.headers.get("x-request-id") as string;
      const logged = () =>
        calmony.server
          .output()
          .split("\n")
          .filter((line) => line.includes(requestId))
          .map((line) => JSON.parse(line))[0];
      for (let waited = 0; !logged() && waited < 2000; waited += 20) await Bun.sleep(20);
      expect(logged()).toMatchObject({ path: "/v1/payments", status: 201 });
    } finally {
      await calmony.stop();
    }
  });

  test("a GET whose upstream answers after the server's idle timeout still gets the answer; the silent connection after it is closed", async () => {
    // Bun's server drops a connection silent for idle_timeout_seconds even while a request on
    // it waits for its answer (one without a body: a GET). Here 1 s (cut within ~4 s: its timer
    // ticks every few seconds), against an upstream that takes 5.5 s and a gateway timeout of 20 s.
    const dir = join(tmp.dir, "slow-upstream");
    mkdirSync(dir, { recursive: true });
    const preset = JSON.parse(readFileSync(join(ROOT, "presets", "calmony.json"), "utf8"));
    preset.idle_timeout_seconds = 1;
    preset.gateway.timeout_seconds = 20;
    writeFileSync(join(dir, "config.json"), JSON.stringify(preset));
    const upstream = startUpstream();
    upstream.answer(() => Bun.sleep(5_500).then(() => Response.json({ object: "payment" })));
    const server = await startServer({
      KEYGATE_DB: join(dir, "keygate.sqlite"),
      KEYGATE_CONFIG: join(dir, "config.json"),
      KEYGATE_UPSTREAM: upstream.url,
    });
    const live = /live: (sk_live_\w+)/.exec(server.startupOutput)?.[1] as string;
    try {
      const { host, hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname, () =>
        socket.write(
          `GET /v1/payments HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${live}\r\n\r\n`,
        ),
      );
      const closed = new Promise<number>((resolve) =>
        socket.on("close", () => resolve(Date.now())),
      );
      let reply = "";
      const answeredAt = await new Promise<number>((resolve, reject) => {
        socket.on("data", (chunk) => {
          reply += chunk.toString();
          if (reply.includes('{"object":"payment"}')) resolve(Date.now());
        });
        socket.on("error", reject);
        socket.on("close", () => reject(new Error(`closed before the answer: ${reply}`)));
      });
      expect(reply).toStartWith("HTTP/1.1 200");
      // The idle timeout is back once the answer went out: the kept-alive connection, silent,
      // is closed as any other (not held open for ever). Deno's server has no such timeout: it
      // keeps idle connections (deploy.md).
      if (E2E_TARGET !== "deno") expect((await closed) - answeredAt).toBeLessThan(9_000);
      socket.destroy();
    } finally {
      await server.stop();
      upstream.stop();
    }
  }, 40_000);
});

describe("an upstream answer that cannot be passed on", () => {
  test("a status outside 200-599, or a 101 no request asked for, is a 502 in the envelope, on every runtime", async () => {
    const replies = [
      "HTTP/1.1 999 Odd\r\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
    ];
    for (const [at, reply] of replies.entries()) {
      const raw = startRawUpstream(reply);
      const server = await startServer({
        KEYGATE_DB: join(tmp.dir, `odd-answer-${at}`, "keygate.sqlite"),
        KEYGATE_CONFIG: join(ROOT, "presets", "calmony.json"),
        KEYGATE_UPSTREAM: raw.url,
      });
      try {
        const live = /live: (sk_live_\w+)/.exec(server.startupOutput)?.[1] as string;
        const response = await fetch(`${server.url}/v1/payments`, {
          headers: { authorization: `Bearer ${live}` },
        });
        expect([at, response.status]).toEqual([at, 502]);
        const body = (await response.json()) as { error: { code: string } };
        expect(body.error.code).toBe("upstream_unreachable");
        expect(raw.answered).toBe(1);
      } finally {
        await server.stop();
        raw.stop();
      }
    }
  }, 40_000);
});

describe("which route serves a request", () => {
  test("as served, a literal segment outranks a parameter, also against a * route, and cannot be disguised (nor carry a secret in its URL): the gateway and forward-auth judge alike", async () => {
    // Bun's own router, were it given the routes without *, would serve /files/private/raw
    // with /files/:name/raw and its lesser scope; Elysia's router (and forward-auth) takes
    // /files/private/*.
    const dir = join(tmp.dir, "overlapping-routes");
    mkdirSync(dir, { recursive: true });
    const routes = [
      { method: "GET", path: "/files/:name/raw", scopes: ["files:read"] },
      { method: "GET", path: "/files/private/*", scopes: ["private:read"] },
    ];
    writeFileSync(join(dir, "config.json"), JSON.stringify({ gateway: { routes } }));
    const upstream = startUpstream();
    const server = await startServer({
      KEYGATE_DB: join(dir, "keygate.sqlite"),
      KEYGATE_CONFIG: join(dir, "config.json"),
      KEYGATE_UPSTREAM: upstream.url,
    });
    try {
      const live = /live: (sk_live_\w+)/.exec(server.startupOutput)?.[1] as string;
      const created = await fetch(`${server.url}/v1/api-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${live}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "reader", scopes: ["files:read"] }),
      });
      const { secret } = (await created.json()) as { secret: string };
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${server.url}${path}`, {
          headers: { authorization: `Bearer ${secret}`, ...headers },
        });
      const ask = (uri: string) =>
        get("/v1/forward-auth", { "x-original-method": "GET", "x-original-uri": uri });
      expect((await get("/files/report/raw")).status).toBe(200);
      expect((await ask("/files/report/raw")).status).toBe(200);
      for (const path of ["/files/private/raw", "/files/private/raw/"]) {
        const served = await get(path);
        expect([path, served.status]).toEqual([path, 403]);
        expect(((await served.json()) as { error: { message: string } }).error.message).toContain(
          "private:read",
        );
        expect([path, (await ask(path)).status]).toEqual([path, 403]);
      }
      // The same path in disguise matches /files/:name/raw here, and an upstream that decodes
      // or drops path parameters would read it as /files/private/raw: refused.
      for (const path of [
        "/files/%70rivate/raw",
        "/files/private;x=1/raw",
        "/files/%EF%BD%90rivate/raw", // a fullwidth p, which NFKC reads as p
      ])
        expect([path, (await get(path)).status, (await ask(path)).status]).toEqual([
          path,
          400,
          400,
        ]);
      // Behind a short Host the router reads the request's own path (Elysia's default would
      // read /private/raw): judged by /files/private/*, not proxied with files:read.
      const shortHost = await sendRaw(
        server.url,
        `GET /files/private/raw HTTP/1.1\r\nHost: ab\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`,
      );
      expect(shortHost).toStartWith("HTTP/1.1 403");
      expect(shortHost).toContain("private:read");
      // Without a valid Host, Bun's URL is the bare path (/abcdefghijklmnop/raw would be read as
      // /raw), and a % in it made the gateway's URL parser throw.
      for (const host of ["a/b", "abcd%2F"]) {
        const noHost = await sendRaw(
          server.url,
          `GET /files/abcdefghijklmnop/raw HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`,
        );
        expect([host, noHost.split("\r\n")[0]]).toEqual([host, "HTTP/1.1 400 Bad Request"]);
        expect(noHost).toContain("no valid Host header");
      }
      // A fragment stays in the server's URL: the router would read it as part of the path.
      const fragment = await sendRaw(
        server.url,
        `GET /files/report/raw#x HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\nConnection: close\r\n\r\n`,
      );
      expect(fragment).toStartWith("HTTP/1.1 400");
      expect(fragment).toContain("fragment");
      // The caller's secret in the URL as well as in Authorization: neither proxied nor passed.
      const leaky = `/files/report/raw?api_key=${secret}`;
      const [viaGateway, viaProxy] = [await get(leaky), await ask(leaky)];
      expect([viaGateway.status, viaProxy.status]).toEqual([400, 400]);
      expect(await viaGateway.text()).toContain("The URL holds a secret API key");
      expect(upstream.calls.map((call) => call.url)).toEqual(["/files/report/raw"]);
    } finally {
      await server.stop();
      upstream.stop();
    }
  });
});

describe("the gateway passes the client's request on", () => {
  test("a POST sent with Expect: 100-continue is told to go on and answered; the upstream gets its body and no Expect", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "expect"));
    try {
      const { host } = new URL(calmony.server.url);
      const body = JSON.stringify({ amount: 1200, currency: "usd" });
      const reply = await sendRaw(
        calmony.server.url,
        `POST /v1/payments HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${calmony.live}\r\nIdempotency-Key: expect-continue-1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(reply).toStartWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201");
      const [call] = calmony.upstream.calls;
      expect([call?.method, call?.body]).toEqual(["POST", body]);
      expect(call?.headers.get("expect")).toBeNull();
    } finally {
      await calmony.stop();
    }
  });
});

describe("requests that cannot be forwarded as sent", () => {
  test("a smuggling attempt, a control byte in a header, a bad Content-Length and a 200 KB header are refused before Keygate, a GET with a body by Keygate: nothing reaches the upstream, the server goes on", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "parser"));
    try {
      const { host } = new URL(calmony.server.url);
      const head = `Host: ${host}\r\nAuthorization: Bearer ${calmony.live}\r\nContent-Type: application/json`;
      const refused: [string, string][] = [
        // Content-Length and Transfer-Encoding together: a proxy reading one and its upstream
        // the other would see two requests where Keygate authenticated one.
        [
          "smuggling",
          `POST /v1/payments HTTP/1.1\r\n${head}\r\nIdempotency-Key: smuggled-0001\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/payments HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        ],
        ["control byte", `GET /v1/payments HTTP/1.1\r\n${head}\r\nX-Note: a\x01b\r\n\r\n`],
        [
          "bad Content-Length",
          `POST /v1/payments HTTP/1.1\r\n${head}\r\nIdempotency-Key: smuggled-0002\r\nContent-Length: 2x\r\n\r\n{}`,
        ],
        // Bun refuses a header block over 16 KiB (431), Deno one over 64 KiB (400).
        [
          "header block",
          `GET /v1/payments HTTP/1.1\r\n${head}\r\nX-Pad: ${"a".repeat(200_000)}\r\n\r\n`,
        ],
      ];
      for (const [what, request] of refused) {
        // A server that closes on a request it has not read to the end may reset the connection
        // before its answer arrives (Deno, on the 200 KB header): refused all the same.
        const reply = await sendRaw(calmony.server.url, request).catch((error: Error) =>
          "code" in error && error.code === "ECONNRESET"
            ? "HTTP/1.1 400 (connection reset)"
            : Promise.reject(error),
        );
        const status = Number(reply.split(" ")[1]);
        expect([what, status >= 400 && status < 500]).toEqual([what, true]);
        // Refused by the parser, not by Keygate: the answer is not Keygate's envelope.
        expect([what, reply.toLowerCase().includes("x-request-id")]).toEqual([what, false]);
      }
      expect(calmony.upstream.calls).toEqual([]);
      // A GET with a body is read by the parser, and handed to Keygate as a GET without one:
      // Keygate refuses it rather than send the upstream a request that lost its body.
      const getWithBody = await sendRaw(
        calmony.server.url,
        `GET /v1/payments HTTP/1.1\r\n${head}\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"limit":100}`,
      );
      expect(getWithBody).toStartWith("HTTP/1.1 400");
      expect(getWithBody).toContain("cannot carry a body through the gateway");
      expect(calmony.upstream.calls).toEqual([]);
      const after = await calmony.call("GET", "/v1/payments", {
        headers: { authorization: `Bearer ${calmony.live}` },
      });
      expect(after.status).toBe(200);
      expect(calmony.upstream.calls.map((call) => call.url)).toEqual(["/v1/payments"]);
    } finally {
      await calmony.stop();
    }
  });
});

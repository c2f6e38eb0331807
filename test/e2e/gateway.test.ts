/**
 * The gateway as served, on each target: what the runtimes' own fetch and server would change
 * about an upstream's answer on its way to the client, and must not.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startPreset } from "../support/preset.ts";

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

  test("the upstream answer's hop-by-hop headers stop at the gateway, a Location naming the upstream becomes the client's path, the rest goes on", async () => {
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
});

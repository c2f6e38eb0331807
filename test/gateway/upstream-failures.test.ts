/**
 * The gateway when its upstream fails (issue 6): refused, untrusted, slow, broken off or
 * stalled mid-answer — each answered in the envelope (502, 504), and never recorded for an
 * Idempotency-Key when the upstream may not have acted, so a retry goes upstream again.
 */
import { describe, expect, test } from "bun:test";
import { GATEWAY_ROUTES, gatewayTestBed, order } from "../support/gateway.ts";
import { codeOf } from "../support/http.ts";
import { startRawUpstream } from "../support/raw-http.ts";
import { selfSignedCertificate } from "../support/tls.ts";
import { echo } from "../support/upstream.ts";

const { upstream, testApp, gatewayApp } = gatewayTestBed();

/** A 201 JSON answer whose body starts, then does what `then` says: break off, stall… */
function startedAnswer(
  then: (controller: ReadableStreamDefaultController<Uint8Array>) => void,
  onCancel?: () => void,
) {
  return () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"order":'));
          then(controller);
        },
        cancel: onCancel,
      }),
      { status: 201, headers: { "content-type": "application/json" } },
    );
}

describe("upstream failures", () => {
  test("unreachable: 502 in the envelope, never recorded — the retry is sent again", async () => {
    const { call, live, internalErrors } = testApp({
      config: { gateway: { upstream: "http://127.0.0.1:9", routes: GATEWAY_ROUTES } },
    });
    const send = () => order(call, live, "down-00001");
    const first = await send();
    expect(first.status).toBe(502);
    expect(codeOf(first)).toBe("upstream_unreachable");
    expect(first.body.error.type).toBe("api_error");
    expect(first.body.error.message).toBe(
      "The upstream service could not be reached; the request was not delivered.",
    );
    const retry = await send();
    expect(retry.status).toBe(502);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    // The operator's report says why.
    expect(String((internalErrors[0] as Error).cause)).toContain("Unable to connect");
  });

  test("an HTTPS upstream whose certificate is not trusted: 502 'not delivered' (the handshake failed first), the reason reported", async () => {
    const { cert, key } = selfSignedCertificate();
    const tls = Bun.serve({ port: 0, tls: { cert, key }, fetch: () => Response.json({}) });
    try {
      const { call, live, internalErrors } = testApp({
        config: { gateway: { upstream: `https://127.0.0.1:${tls.port}`, routes: GATEWAY_ROUTES } },
      });
      const reply = await order(call, live, "tls-refused-01");
      expect([reply.status, codeOf(reply)]).toEqual([502, "upstream_unreachable"]);
      expect(reply.body.error.message).toContain("the request was not delivered");
      expect(String((internalErrors[0] as Error).cause)).toContain("self signed certificate");
    } finally {
      tls.stop(true);
    }
  });

  test("an answer that breaks off mid-body, on a recorded request: 502 'may have taken effect', not recorded — the retry goes upstream again", async () => {
    const { call, live, internalErrors } = gatewayApp();
    upstream.answer(
      startedAnswer((controller) =>
        setTimeout(() => controller.error(new Error("upstream crashed")), 10),
      ),
    );
    try {
      const send = () => order(call, live, "broken-off-01");
      const first = await send();
      expect([first.status, codeOf(first)]).toEqual([502, "upstream_unreachable"]);
      expect(first.body.error.message).toContain("may have taken effect");
      upstream.answer(echo);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(upstream.calls.map((c) => c.headers.get("idempotency-key"))).toEqual([
        "broken-off-01",
        "broken-off-01",
      ]);
      // Reported for the operator as the upstream's failure, with its cause.
      expect(internalErrors.map((e) => (e as Error).cause)).toHaveLength(1);
    } finally {
      upstream.answer(echo);
    }
  });

  test("an answer whose body stalls, on a recorded request: cut after the timeout, 504 not recorded — the key is not held 'in use'", async () => {
    const { call, live } = gatewayApp({ timeout_seconds: 0.2 });
    let cancelled = false;
    // …and nothing more after its start, for as long as the connection stays open.
    upstream.answer(
      startedAnswer(
        () => {},
        () => {
          cancelled = true;
        },
      ),
    );
    try {
      const send = () => order(call, live, "stalled-body-1");
      const first = await send();
      expect([first.status, codeOf(first)]).toEqual([504, "upstream_timeout"]);
      upstream.answer(echo);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBeNull();
      expect(upstream.calls).toHaveLength(2);
      // The stalled stream was not left open behind the answer.
      for (let i = 0; i < 50 && !cancelled; i++) await Bun.sleep(10);
      expect(cancelled).toBe(true);
    } finally {
      upstream.answer(echo);
    }
  });

  test("an answer over the recording cap streams to the client as it comes, never held whole; a retry is 409 too large", async () => {
    const cap = 1024;
    const t = testApp({
      config: {
        gateway: { upstream: upstream.url, routes: GATEWAY_ROUTES },
        idempotency: { max_response_bytes: cap },
      },
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chunk = new Uint8Array(cap).fill(120); // "xxx…"
    upstream.answer(
      () =>
        new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(chunk);
              controller.enqueue(chunk);
              // The rest only once the client has the answer's head: a gateway that waited for
              // the whole body before answering would wait here for ever.
              await released;
              controller.enqueue(new TextEncoder().encode("end"));
              controller.close();
            },
          }),
          { status: 201, headers: { "content-type": "text/plain" } },
        ),
    );
    try {
      const request = () =>
        t.app.handle(
          new Request("http://localhost/orders", {
            method: "POST",
            headers: {
              authorization: `Bearer ${t.live}`,
              "idempotency-key": "over-the-cap-1",
              "content-type": "application/json",
            },
            body: "{}",
          }),
        );
      const first = await request();
      expect(first.status).toBe(201);
      release();
      const text = await first.text();
      expect(text.length).toBe(2 * cap + 3);
      expect(text.endsWith("end")).toBe(true);
      const retry = await request();
      expect(retry.status).toBe(409);
      const error = ((await retry.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("idempotency_result_too_large");
      expect(error.message).toContain("status 201");
    } finally {
      upstream.answer(echo);
    }
  });

  test("an answer with a status no client can be given (999, 099): 502 'may have taken effect', not a 500, not recorded", async () => {
    for (const status of ["999", "099"]) {
      const raw = startRawUpstream(
        `HTTP/1.1 ${status} Odd\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok`,
      );
      try {
        const { call, live, internalErrors } = testApp({
          config: { gateway: { upstream: raw.url, routes: GATEWAY_ROUTES } },
        });
        const read = await call("GET", "/links", { key: live });
        expect([read.status, codeOf(read)]).toEqual([502, "upstream_unreachable"]);
        expect(read.body.error.message).toContain(`status ${Number(status)}`);
        expect(read.body.error.message).toContain("may have taken effect");
        // A retry of a recorded request goes upstream again: nothing was recorded.
        for (const _ of [1, 2])
          expect((await order(call, live, `odd-status-${status}`)).status).toBe(502);
        expect(raw.answered).toBe(3);
        // Reported to the operator as the upstream's failure, not as Keygate's own crash.
        expect(internalErrors.join("\n")).not.toContain("RangeError");
      } finally {
        raw.stop();
      }
    }
  });

  test("no answer in time: 504 upstream_timeout", async () => {
    const { call, live } = gatewayApp({ timeout_seconds: 0.1 });
    upstream.answer(async () => {
      await Bun.sleep(400);
      return new Response("late");
    });
    try {
      const reply = await call("GET", "/links", { key: live });
      expect(reply.status).toBe(504);
      expect(codeOf(reply)).toBe("upstream_timeout");
    } finally {
      upstream.answer(echo);
    }
  });
});

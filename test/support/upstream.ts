/** A stub upstream for gateway tests: it records every request it receives and counts them. */
import type { Server } from "bun";

/** One request as the upstream saw it. */
export interface UpstreamCall {
  method: string;
  /** Path with query. */
  url: string;
  headers: Headers;
  /** The body as UTF-8 text. */
  body: string;
  /** The body's bytes, as they arrived. */
  bytes: Uint8Array;
}

/** How the stub answers; the default echoes the identity headers it received as JSON. */
export type UpstreamAnswer = (call: UpstreamCall) => Response | Promise<Response>;

/** A running stub upstream. */
export interface StubUpstream {
  url: string;
  calls: UpstreamCall[];
  /** Replaces how it answers. */
  answer(fn: UpstreamAnswer): void;
  stop(): void;
}

/** The default answer: 200 (201 for POST) with what the upstream learned about the caller. */
export const echo: UpstreamAnswer = (call) =>
  Response.json(
    {
      object: "echo",
      method: call.method,
      url: call.url,
      key_id: call.headers.get("x-keygate-key-id"),
      entity_id: call.headers.get("x-keygate-entity-id"),
      livemode: call.headers.get("x-keygate-livemode") === "true",
    },
    { status: call.method === "POST" ? 201 : 200 },
  );

/**
 * An answer carrying headers Keygate sends itself, with the upstream's own values (ids that
 * are not Keygate's, a limit of 5000), beside one of the upstream's own (`X-Upstream: yes`).
 */
export const answerWithOwnIdsAndLimits: UpstreamAnswer = () =>
  new Response("{}", {
    headers: {
      "content-type": "application/json",
      "x-request-id": "req_upstream",
      "x-correlation-id": "upstream-correlation",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      ratelimit: '"upstream";r=4999;t=60',
      "x-upstream": "yes",
    },
  });

/** Starts a stub upstream on a free port. */
export function startUpstream(): StubUpstream {
  const calls: UpstreamCall[] = [];
  let answer: UpstreamAnswer = echo;
  const server: Server<undefined> = Bun.serve({
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const bytes = await request.bytes();
      const call = {
        method: request.method,
        url: `${url.pathname}${url.search}`,
        headers: request.headers,
        body: new TextDecoder().decode(bytes),
        bytes,
      };
      calls.push(call);
      return answer(call);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    answer(fn) {
      answer = fn;
    },
    stop: () => server.stop(true),
  };
}

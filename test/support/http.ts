import type { Keygate } from "../../src/app/keygate.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { createApp } from "../../src/http/app.ts";
import type { AccessLogEntry } from "../../src/http/request-context.ts";
import { closedAfterEachTest, FakeClock, TEST_SCRYPT_COST, testKeygate } from "./keygate.ts";

/** What a test call returned, body parsed. */
export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  /** The body exactly as sent. */
  text: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * A fresh Keygate with its platform keys and a `call` helper; `config` is the content of
 * its `KEYGATE_CONFIG` file, `env` more environment variables.
 */
export function testApp(
  options: { clock?: FakeClock; config?: object; env?: Record<string, string> } = {},
) {
  const clock = options.clock ?? new FakeClock();
  const kg: Keygate = testKeygate({
    clock,
    ...(options.config ? { config: options.config } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const init = initPlatform(kg, { actor: "test", request_id: null });
  if (!init.created) throw new Error("expected a fresh database");
  return {
    ...appOver(kg),
    close: () => kg.close(),
    clock,
    platform: init.entityId,
    live: init.keys.live,
    test: init.keys.test,
    /** The platform keys' public keys, where they are pairs (HTTP Basic the only key scheme). */
    publicKeys: init.publicKeys,
  };
}

/**
 * Keygate's HTTP app over `kg`, opened by the caller, with a `call` helper and what the app
 * reported: internal errors and access-log entries.
 */
export function appOver(kg: Keygate) {
  const internalErrors: unknown[] = [];
  const accessLog: AccessLogEntry[] = [];
  const app = createApp(kg, {
    passwordCost: TEST_SCRYPT_COST,
    reportInternal: (e) => internalErrors.push(e),
    accessLog: (entry) => accessLog.push(entry),
  });
  async function call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    }
    return readReply(
      await app.handle(new Request(`http://localhost${path}`, { method, headers, body })),
    );
  }
  return { kg, app, call, internalErrors, accessLog };
}

/** A response as a Reply: its body read, and parsed when it is JSON. */
export async function readReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** The error code of a reply (asserting it is an envelope). */
export function codeOf(reply: Pick<Reply, "body">): string {
  return reply.body?.error?.code;
}

/** `key` with its last character changed (always to a different one): a key that must fail. */
export function tampered(key: string): string {
  return `${key.slice(0, -1)}${key.endsWith("a") ? "b" : "a"}`;
}

/** `testApp` for one test file: every app it opens is closed after each test. */
export const testAppPerTest = () => closedAfterEachTest(testApp);

/** A POST to `url` whose body arrives as a stream of `chunks`, with no Content-Length (chunked). */
export function chunkedPost(
  url: string,
  headers: Record<string, string>,
  chunks: readonly Uint8Array[],
): Request {
  return new Request(url, {
    method: "POST",
    headers,
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    }),
    duplex: "half",
  } as RequestInit);
}

/** The sealed form of a recorded response, as written now and as written before 2026-11-24. */
import { expect, test } from "bun:test";
import {
  parseStoredResponse,
  type StoredResponse,
  serialiseStoredResponse,
} from "../../src/idempotency/stored-response.ts";

const response: StoredResponse = {
  status: 201,
  headers: [["content-type", "application/json"]],
  body: new TextEncoder().encode('{"ok":true}'),
  bodyBytes: 11,
  callerScopes: ["links:*"],
  callerLimit: null,
  callerExpiresAtMs: 1_800_000_000_000,
};

test("round trip: status, headers, body, and the caller's scopes, limit and expiry", () => {
  const back = parseStoredResponse(serialiseStoredResponse(response));
  expect({ ...back, body: Buffer.from(back.body as Uint8Array).toString() }).toEqual({
    ...response,
    body: '{"ok":true}',
  });
});

test("a result recorded before the caller's limit and expiry were kept has neither: replayed on scopes alone", () => {
  const meta = Buffer.from(JSON.stringify({ s: 200, h: [], n: 0, c: ["*"], b: false }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(meta.length);
  const back = parseStoredResponse(Buffer.concat([length, meta]));
  expect(back).toEqual({ status: 200, headers: [], body: null, bodyBytes: 0, callerScopes: ["*"] });
  expect("callerLimit" in back || "callerExpiresAtMs" in back).toBe(false);
});

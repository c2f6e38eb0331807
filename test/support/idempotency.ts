/** Recording idempotent results straight through the result store, without HTTP. */
import type { Keygate } from "../../src/app/keygate.ts";
import type { IdempotencyScope } from "../../src/idempotency/result-store.ts";
import type { StoredResponse } from "../../src/idempotency/stored-response.ts";
import { TEST_ACTOR } from "./keygate.ts";

/** A handler's JSON answer, as the result store keeps it. */
export function storedJson(body: string, status = 200): StoredResponse {
  return {
    status,
    headers: [["content-type", "application/json"]],
    body: new TextEncoder().encode(body),
    bodyBytes: body.length,
    callerScopes: ["*"],
  };
}

/** Runs `scope`'s first request with `fingerprint` and records `body` as its answer. */
export async function recordResult(
  kg: Keygate,
  scope: IdempotencyScope,
  fingerprint: string,
  body: string,
): Promise<void> {
  const admission = kg.idempotency.begin(scope, fingerprint);
  if (admission.kind !== "run") throw new Error(`expected to run, got ${admission.kind}`);
  await admission.ticket.complete(storedJson(body), TEST_ACTOR);
}

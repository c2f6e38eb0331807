/**
 * Request ids and the error handler. Every response, errors included, carries
 * `X-Request-Id` (`req_…`, minted here) and `X-Correlation-Id` (a UUID v4: the client's, when
 * it sent a valid one, else a fresh one). Failures become the error envelope.
 */
import { Elysia } from "elysia";
import { newId } from "../ids/index.ts";
import { type CodeNames, envelopeOf, toKeygateError } from "./envelope.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Called with every error that was not the client's fault (a 5xx), for the logs. */
export type InternalErrorReporter = (error: unknown, requestId: string) => void;

/** The request-context plugin: ids on every response and the error envelope. */
export function requestContext(codeNames: CodeNames, reportInternal: InternalErrorReporter) {
  return new Elysia({ name: "keygate/request-context" })
    .onRequest(({ request, set }) => {
      const inbound = request.headers.get("x-correlation-id");
      set.headers["x-request-id"] = newId("req");
      set.headers["x-correlation-id"] =
        inbound && UUID_V4.test(inbound) ? inbound : crypto.randomUUID();
    })
    .onError({ as: "global" }, ({ code, error, set }) => {
      const requestId = String(set.headers["x-request-id"] ?? "");
      const failure = toKeygateError(code, error);
      if (failure.status >= 500) reportInternal(error, requestId);
      set.status = failure.status;
      set.headers["content-type"] = "application/json";
      return envelopeOf(failure, requestId, codeNames);
    })
    .as("global");
}

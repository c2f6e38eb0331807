/**
 * Request ids and the error handler. Every response, errors included, carries
 * `X-Request-Id` (`req_…`, minted here) and `X-Correlation-Id` (a UUID v4: the client's, when
 * it sent a valid one, else a fresh one). Failures become the error envelope. With a logger,
 * every request also leaves one access-log entry after its response has gone out.
 */
import { Elysia } from "elysia";
import type { Identity } from "../auth/identity.ts";
import { maskCredentialsIn } from "../auth/mask-credentials.ts";
import { newId } from "../ids/index.ts";
import type { Metrics } from "../metrics/metrics.ts";
import {
  type CodeNames,
  type ErrorEnvelope,
  envelopeOf,
  JSON_CONTENT_TYPE,
  routeNotFound,
  toKeygateError,
} from "./envelope.ts";
import { requestTargetRefusal } from "./request-target.ts";
import type { RouteMethods } from "./route-methods.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Called with every error that was not the client's fault (a 5xx, with its request id) or
 * that no request had (a background task such as the idempotency sweep), for the logs.
 */
export type InternalErrorReporter = (error: unknown, requestId?: string) => void;

const describe = (error: unknown): string => {
  const cause = (error as Error)?.cause;
  const own = String((error as Error)?.stack ?? error);
  return cause === undefined ? own : `${own}\ncaused by: ${describe(cause)}`;
};

/** The default reporter: one JSON line on stderr with the request id, stack and causes. */
export const reportToStderr: InternalErrorReporter = (error, requestId) => {
  try {
    process.stderr.write(
      `${JSON.stringify({ level: "error", request_id: requestId, error: maskCredentialsIn(describe(error)) })}\n`,
    );
  } catch {
    // stderr is gone too: there is nowhere left to say it, and the server must go on.
  }
};

/**
 * Turns any failure into its envelope, setting the response's status, `Retry-After` (or a
 * 415's `Accept-Encoding`) and content type on `set`; a 5xx is reported with the request id
 * first.
 */
export function answerFailure(
  code: string | number,
  error: unknown,
  set: { status?: number | string; headers: Record<string, unknown> },
  codeNames: CodeNames,
  reportInternal: InternalErrorReporter,
): ErrorEnvelope {
  const requestId = String(set.headers["x-request-id"] ?? "");
  const failure = toKeygateError(code, error);
  if (failure.status >= 500) reportInternal(error, requestId);
  set.status = failure.status;
  if (failure.retryAfterSeconds !== undefined)
    set.headers["retry-after"] = String(failure.retryAfterSeconds);
  // What a compressed body's 415 would have been taken in (RFC 9110 §15.5.16).
  if (failure.code === "unsupported_content_encoding") set.headers["accept-encoding"] = "identity";
  set.headers["content-type"] = JSON_CONTENT_TYPE;
  return envelopeOf(failure, requestId, codeNames);
}

/** One access-log entry: never more of a key than its id and display prefix. */
export interface AccessLogEntry {
  time: string;
  request_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  key_id: string | null;
  key_prefix: string | null;
  actor: string | null;
}

/** Where access-log entries go. */
export type AccessLogger = (entry: AccessLogEntry) => void;

/** When a request arrived (`performance.now()`), kept on Elysia's per-request context. */
const STARTED = Symbol("keygate.started");

let isoMillisecond = Number.NaN;
let isoText = "";

/** The current time in ISO 8601, formatted once per millisecond however many requests share it. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMillisecond) {
    isoMillisecond = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * The status the client got: a `Response` a route returned (the gateway's upstream answer, an
 * idempotent replay) carries its own; otherwise the one the route set, 200 by default.
 */
function sentStatus(response: unknown, status: unknown): number {
  if (response instanceof Response) return response.status;
  return typeof status === "number" ? status : 200;
}

/**
 * The request-context plugin: ids on every response, the error envelope, the access log.
 * `routeMethods`, when given, names the methods a known path takes in the 404 of a request
 * that asked it with another; `routerSearchFrom` is where the app's router looks for a URL's
 * path (request-target.ts; Elysia's default when not given).
 */
export function requestContext(
  codeNames: CodeNames,
  reportInternal: InternalErrorReporter,
  accessLog?: AccessLogger,
  metrics?: Metrics,
  routeMethods?: RouteMethods,
  routerSearchFrom?: number,
) {
  const notFound = (method: string, path: string, set: { headers: Record<string, unknown> }) => {
    const allowed = routeMethods?.(path) ?? [];
    if (allowed.length > 0) set.headers.allow = allowed.join(", ");
    return routeNotFound(method, path, allowed);
  };
  return new Elysia({ name: "keygate/request-context" })
    .onRequest((context) => {
      const { request, set } = context;
      if (accessLog) (context as { [STARTED]?: number })[STARTED] = performance.now();
      const inbound = request.headers.get("x-correlation-id");
      set.headers["x-request-id"] = newId("req");
      set.headers["x-correlation-id"] =
        inbound && UUID_V4.test(inbound) ? inbound : crypto.randomUUID();
      const misread = requestTargetRefusal(request, routerSearchFrom);
      if (misread) throw misread;
    })
    .onError({ as: "global" }, ({ code, error, set, request, path }) =>
      answerFailure(
        code,
        code === "NOT_FOUND" ? notFound(request.method, path, set) : error,
        set,
        codeNames,
        reportInternal,
      ),
    )
    .onAfterResponse({ as: "global" }, (context) => {
      const { request, set, route, path, response } = context;
      const identity = (context as { identity?: Identity }).identity;
      const record = (sent: unknown) => {
        const status = sentStatus(sent, set.status);
        metrics?.request(request.method, route || "unmatched", status);
        if (!accessLog) return;
        const begin = (context as { [STARTED]?: number })[STARTED];
        // Built field by field, in the documented order: no intermediate objects per request.
        const key = identity?.type === "api_key" ? identity.key : undefined;
        accessLog({
          time: isoNow(),
          request_id: String(set.headers["x-request-id"] ?? ""),
          method: request.method,
          // A key or token a client put in the path by mistake (`/v1/api-keys/sk_live_…`): masked.
          path: maskCredentialsIn(path),
          status,
          latency_ms:
            begin === undefined ? 0 : Math.round((performance.now() - begin) * 1000) / 1000,
          key_id: key ? key.id : null,
          key_prefix: key ? key.prefix : null,
          actor: key ? key.id : identity?.type === "user" ? identity.userId : null,
        });
      };
      // Elysia runs this hook once the route has returned, not once the response is ready:
      // an answer still on its way (an idempotent request's, waiting for its record to be
      // committed) is recorded when it is there, with its status and its whole latency.
      if (response instanceof Promise) response.then(record, () => record(undefined));
      else record(response);
    })
    .as("global");
}

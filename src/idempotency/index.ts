/**
 * `keygate/idempotency`: Idempotency-Key for HTTP routes (SPEC §5), in two parts.
 *
 * - {@link idempotencyStep} runs in the guard chain after authentication and the rate
 *   limit: it reads and checks the key, fingerprints the request and admits it — replaying
 *   the recorded response, refusing a mismatch or a key in use, or letting the handler run.
 * - {@link idempotencyPlugin} reads the body of requests that carry a key itself (the
 *   fingerprint hashes the bytes as sent) and, after the handler, records its response —
 *   errors it threw included — BEFORE the response is sent.
 * - {@link commitWithRecord}, around the synchronous last step of a handler whose effect is
 *   written to Keygate's own log, records the response in the same transaction as that effect.
 *
 * Mount the plugin before the routes: `app.use(idempotencyPlugin(kg)).use(routes)`. Its parse
 * hook is a function, which OpenAPI cannot describe: routes that take a body should name
 * their parser (`parse: "json"`) so the document still lists the media type.
 */
import { Elysia, ElysiaCustomStatusResponse } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { type Identity, outlivesCaller } from "../auth/identity.ts";
import type { AuthenticatedStep } from "../auth/index.ts";
import type { IdempotencyConfig } from "../config/config.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { selectedEntityOf } from "../gateway/entity-selection.ts";
import type { GatewayRouteTest } from "../gateway/index.ts";
import { readUpTo, resumed } from "../http/body-prefix.ts";
import { JSON_CONTENT_TYPE } from "../http/envelope.ts";
import { eventMetadata } from "../http/event-metadata.ts";
import { parseRawBody, rawBodyOf, readRawBody } from "../http/raw-body.ts";
import {
  answerFailure,
  type InternalErrorReporter,
  reportToStderr,
} from "../http/request-context.ts";
import { scopeGrants } from "../keys/scopes.ts";
import { holdsLimit, rateCeiling } from "../ratelimit/grantable-rate.ts";
import { CommitFailedError } from "../store/commit-failed-error.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { pathWithQuery, requestFingerprint } from "./fingerprint.ts";
import { readIdempotencyKey } from "./idempotency-key.ts";
import { keyRequiredAt } from "./key-required.ts";
import {
  type IdempotencyScope,
  type IdempotencyTicket,
  ResultNotRecordedError,
} from "./result-store.ts";
import { isReplayedHeader, type StoredResponse } from "./stored-response.ts";

const EMPTY = new Uint8Array(0);

/** A request admitted to run: its ticket, and who it runs for. */
interface Admitted {
  ticket: IdempotencyTicket;
  metadata: EventMetadata;
  scopes: readonly string[];
  limit: StoredResponse["callerLimit"];
  expiresAtMs: StoredResponse["callerExpiresAtMs"];
  /** Set once the response was recorded with the handler's writes: it goes out as recorded. */
  sent?: Sent;
}

/** Requests admitted to run, whose response is to be recorded. */
const admitted = new WeakMap<Request, Admitted>();

function scopeOf(identity: Identity, key: string): IdempotencyScope {
  return {
    entityId: identity.entity.id,
    scope: identity.environment ?? "dashboard",
    key,
  };
}

/** A recorded response as a replay: the same status, content headers and bytes. */
function replay(kg: Keygate, identity: Identity, stored: StoredResponse): Response {
  // Results are shared by every key of the entity and environment; a replay must not hand
  // a narrower key what only a wider one could have obtained (a new key's secret, say).
  if (!stored.callerScopes.every((scope) => scopeGrants(identity.scopes, scope))) {
    throw new KeygateError(
      "insufficient_scope",
      "The result recorded for this Idempotency-Key was produced for a caller holding scopes this key lacks.",
    );
  }
  const allowedLess =
    stored.callerLimit !== undefined && !holdsLimit(kg, identity, stored.callerLimit);
  const livesLess =
    stored.callerExpiresAtMs !== undefined && outlivesCaller(identity, stored.callerExpiresAtMs);
  if (allowedLess || livesLess) {
    throw new KeygateError(
      "access_denied",
      `The result recorded for this Idempotency-Key was produced for a caller ${allowedLess ? "allowed more requests" : "living longer"} than this key.`,
    );
  }
  if (stored.body === null) {
    throw new KeygateError(
      "idempotency_result_too_large",
      `The first request with this Idempotency-Key completed with status ${stored.status}, but its response (${stored.bodyBytes} bytes or more) was over the size cap and was not kept; it will not run again. Use a new Idempotency-Key to repeat the operation.`,
    );
  }
  const headers = new Headers(stored.headers);
  headers.set("idempotent-replayed", "true");
  return new Response(stored.body, { status: stored.status, headers });
}

/** The Idempotency-Key step of the guard chain (authentication → rate limit → this). */
export function idempotencyStep(kg: Keygate): AuthenticatedStep {
  const config = kg.config.idempotency;
  const methods = new Set(config.methods);
  const required = keyRequiredAt(config);
  return (identity, { request, method, path, route, set }) => {
    if (!methods.has(method)) return undefined;
    const header = request.headers.get("idempotency-key");
    if (header === null) {
      if (required(method, path, route)) throw new KeygateError("idempotency_key_missing");
      return undefined;
    }
    const key = readIdempotencyKey(header, config.keyPattern);
    // The entity a gateway route selected (from a header, say) is part of the request: the same
    // key sent for another merchant is another request, not a retry of the first.
    const actingFor = selectedEntityOf(request, identity).id;
    const fingerprint = requestFingerprint(
      request.method,
      pathWithQuery(request.url),
      rawBodyOf(request) ?? EMPTY,
      actingFor === identity.entity.id ? undefined : actingFor,
    );
    const admission = kg.idempotency.begin(scopeOf(identity, key), fingerprint);
    switch (admission.kind) {
      case "replay":
        kg.metrics.replayed();
        return replay(kg, identity, admission.response);
      case "mismatch":
        throw new KeygateError(
          "idempotency_mismatch",
          "This Idempotency-Key was already used with a different request (method, path, query or body); use a new key for a new request.",
          undefined,
          undefined,
          config.mismatchStatus,
        );
      case "in_use":
        throw new KeygateError("idempotency_key_in_use", undefined, undefined, 1);
      case "run":
        admitted.set(request, {
          ticket: admission.ticket,
          metadata: eventMetadata(identity, set),
          scopes: identity.scopes,
          limit: rateCeiling(kg, identity),
          expiresAtMs: identity.type === "api_key" ? identity.key.expiresAtMs : null,
        });
        return undefined;
    }
  };
}

/** Whether `request` was admitted and its response will be recorded (read whole) before it goes out. */
export function isRecorded(request: Request): boolean {
  return admitted.has(request);
}

/**
 * Gives up recording the response of an admitted request, freeing its key: for answers the
 * handler did not produce itself, such as a gateway's 502 when the upstream was never reached,
 * so that a retry runs afresh (SPEC §5).
 */
export function forgoRecording(request: Request): void {
  const run = admitted.get(request);
  if (!run) return;
  admitted.delete(request);
  run.ticket.release();
}

type ResponseSet = { status?: number | string; headers: Record<string, unknown> };

/** A response as it is recorded (`headers`: those a replay repeats) and as it is first sent. */
interface Sent {
  status: number;
  headers: [string, string][];
  /** All the headers the first answer carries, where they are more than the recorded ones. */
  sendHeaders?: Headers;
  /** The body, whole (empty when it runs past the recording cap: see `overCap`). */
  body: Uint8Array;
  /** A body over the cap: the bytes seen before it was let through, and the stream of it all. */
  overCap?: { seen: number; stream: ReadableStream<Uint8Array> };
}

/** What the client is about to receive, as bytes, the way Elysia would have sent it. */
async function asSent(value: unknown, set: ResponseSet, cap: number): Promise<Sent> {
  if (value instanceof ElysiaCustomStatusResponse)
    return asSent(value.response, { ...set, status: value.code }, cap);
  if (!(value instanceof Response)) return valueAsSent(value, set);
  const own = [...value.headers].filter(([name]) => isReplayedHeader(name));
  // The first answer keeps every header the handler (a gateway's upstream) gave it — its
  // cookies, its own ids — though a replay repeats only the recorded ones.
  const sendHeaders = new Headers(value.headers);
  sendHeaders.delete("content-length");
  // Read no further than the cap: a longer body is not kept, and streams on as it comes.
  const prefix = await readUpTo(value.body, cap);
  const head = { status: value.status, headers: own, sendHeaders };
  return prefix.complete
    ? { ...head, body: prefix.bytes }
    : { ...head, body: EMPTY, overCap: { seen: prefix.size, stream: resumed(prefix) } };
}

/** {@link asSent} of a handler's value that is not a `Response`: known at once, no body to read. */
function valueAsSent(value: unknown, set: ResponseSet): Sent {
  if (value instanceof ElysiaCustomStatusResponse)
    return valueAsSent(value.response, { ...set, status: value.code });
  const status = typeof set.status === "number" ? set.status : 200;
  const fromSet = Object.entries(set.headers)
    .filter(([name]) => isReplayedHeader(name))
    .map(([name, v]) => [name, String(v)] as [string, string]);
  let body: Uint8Array;
  let type: string | undefined;
  if (value === undefined || value === null) body = EMPTY;
  else if (typeof value === "string")
    [body, type] = [Buffer.from(value), "text/plain;charset=utf-8"];
  else if (value instanceof Uint8Array) [body, type] = [value, "application/octet-stream"];
  else if (value instanceof ArrayBuffer)
    [body, type] = [new Uint8Array(value), "application/octet-stream"];
  else [body, type] = [Buffer.from(JSON.stringify(value)), JSON_CONTENT_TYPE];
  const headers = fromSet.some(([name]) => name === "content-type")
    ? fromSet
    : type
      ? [["content-type", type] as [string, string], ...fromSet]
      : fromSet;
  return { status, headers, body };
}

/** Statuses the handler did not decide on its own: retries of these run afresh. */
function isRecordable(status: number, recordServerErrors: boolean): boolean {
  if (status === 401 || status === 403 || status === 429) return false;
  return status < 500 || recordServerErrors;
}

/**
 * The plugin: reads the body of requests that carry a key before the route does, and records the
 * response of every admitted request before it goes out. `forwardsBody`: which requests' routes
 * pass their body on unread (the gateway's), so that it is fingerprinted but not parsed.
 */
export function idempotencyPlugin(
  kg: Keygate,
  reportInternal: InternalErrorReporter = reportToStderr,
  forwardsBody: GatewayRouteTest = () => false,
) {
  const config = kg.config.idempotency;
  const methods = new Set(config.methods);
  const bodyLimit = kg.config.gateway.maxBodyBytes;
  return (
    new Elysia({ name: "keygate/idempotency" })
      // Only requests with a key are read here (and parsed here, the body being consumed);
      // every other request goes on to the route's own parser.
      .onParse({ as: "global" }, async ({ request, route }, contentType) => {
        if (!methods.has(request.method) || !request.headers.has("idempotency-key")) return;
        // The body is read whole to fingerprint it: never more than the configured limit.
        const bytes = await readRawBody(request, bodyLimit);
        // A body the route forwards is its upstream's, whatever it holds (a form, gzip bytes,
        // JSON Keygate would refuse): kept as bytes, never parsed. The value is only a marker.
        if (forwardsBody(request.method, route)) return bytes.length;
        return parseRawBody(bytes, contentType);
      })
      // Elysia decides from a hook's source text whether to await it. This one answers an
      // admitted request with a promise but is written not to read as awaiting anything (no
      // such word in it, no "return f("), so that routes which record nothing stay
      // synchronous; Elysia still awaits the promise it returns. It hands unadmitted
      // responses back unchanged: in Elysia 1.4 a global mapResponse that returns nothing
      // loses the body of the not-found error.
      .mapResponse({ as: "global" }, ({ request, response, set }) => {
        const run = admitted.get(request);
        if (!run) return response as Response;
        admitted.delete(request);
        const answer = answerAdmitted(kg, run, response, set, reportInternal);
        return answer;
      })
  );
}

/** The response of an admitted request: recorded, then sent — or its failure, answered. */
async function answerAdmitted(
  kg: Keygate,
  run: Admitted,
  response: unknown,
  set: ResponseSet,
  reportInternal: InternalErrorReporter,
): Promise<Response> {
  // Whatever happens below, the key is freed: a result is recorded or it is not.
  try {
    const sent = await recordAndSend(run, response, set, kg.config.idempotency);
    // The access log and the metrics read the status sent from here.
    set.status = sent.status;
    return sent;
  } catch (error) {
    // Elysia does not route a failure here to its error handler: answer it the same way.
    const envelope = answerFailure("UNKNOWN", error, set, kg.config.errorCodes, reportInternal);
    return new Response(JSON.stringify(envelope), {
      status: set.status as number,
      headers: { "content-type": JSON_CONTENT_TYPE },
    });
  } finally {
    run.ticket.release();
  }
}

/** The record of `sent` for an admitted request, or undefined if its status is never recorded. */
function recordOf(
  run: Admitted,
  sent: Sent,
  config: IdempotencyConfig,
): StoredResponse | undefined {
  if (!isRecordable(sent.status, config.recordServerErrors)) return undefined;
  const tooLarge = sent.overCap !== undefined || sent.body.length > config.maxResponseBytes;
  return {
    status: sent.status,
    headers: sent.headers,
    body: tooLarge ? null : sent.body,
    bodyBytes: sent.overCap?.seen ?? sent.body.length,
    callerScopes: run.scopes,
    callerLimit: run.limit,
    callerExpiresAtMs: run.expiresAtMs,
  };
}

/** `sent` as the Response that goes out. */
function responseOf(sent: Sent): Response {
  return new Response(sent.overCap?.stream ?? sent.body, {
    status: sent.status,
    headers: sent.sendHeaders ?? sent.headers,
  });
}

/** Records an admitted request's response (unless it is one never recorded), then sends it. */
async function recordAndSend(
  run: Admitted,
  response: unknown,
  set: ResponseSet,
  config: IdempotencyConfig,
): Promise<Response> {
  // Recorded already, in the transaction of the handler's own writes (see commitWithRecord).
  if (run.sent) return responseOf(run.sent);
  const sent = await asSent(response, set, config.maxResponseBytes);
  const record = recordOf(run, sent, config);
  if (record) {
    try {
      await run.ticket.complete(record, run.metadata);
    } catch (error) {
      const failure = new KeygateError(
        "api_error",
        "The response could not be recorded for Idempotency-Key replay, so it is not sent; the request may have taken effect.",
      );
      failure.cause = error;
      throw failure;
    }
  }
  return responseOf(sent);
}

/**
 * Runs `effect` — the synchronous last step of a handler: its writes to the log, and the value
 * it answers with — and, when the request was admitted under an Idempotency-Key, records that
 * answer in the SAME transaction (one unit of the next group commit). The effect and its record
 * then commit together or not at all: no crash can leave a key created whose answer was not
 * recorded (its retry would create a second one), and an answer that cannot be recorded undoes
 * the effect (`500 api_error`, "did not take effect"; the retry runs afresh). Without a key it
 * runs `effect` as a unit of the group commit too, with nothing to record: concurrent writes
 * share commits instead of each taking one of its own.
 *
 * Only writes to Keygate's own database can join that transaction: work done elsewhere (a
 * gateway's upstream, an app's own database) is recorded after it, as before. `effect` must
 * return a plain value, not a promise or a `Response` (await first, then call this with what is
 * left), and may run twice: it must change nothing but the database until it returns.
 */
export async function commitWithRecord<T>(
  kg: Keygate,
  request: Request,
  set: ResponseSet,
  effect: () => T,
): Promise<T> {
  const run = admitted.get(request);
  if (!run) return kg.store.atomicallyGrouped(effect);
  const config = kg.config.idempotency;
  let sent: Sent | undefined;
  try {
    const value = await run.ticket.completeWith(
      effect,
      (value) => {
        if (value instanceof Response || value instanceof Promise)
          throw new TypeError("commitWithRecord: the effect must return a plain value, at once");
        sent = valueAsSent(value, set);
        return recordOf(run, sent, config);
      },
      run.metadata,
    );
    run.sent = sent;
    return value;
  } catch (error) {
    // Nothing was written — the batch's commit failed — so this is no result to replay: the
    // key is freed, and the retry runs afresh.
    if (error instanceof CommitFailedError) {
      forgoRecording(request);
      throw error;
    }
    if (!(error instanceof ResultNotRecordedError)) throw error; // the handler's own error: recorded as usual
    // Nothing was written: the key is free, and this failure is not a result to replay.
    forgoRecording(request);
    const failure = new KeygateError(
      "api_error",
      "The response could not be recorded for Idempotency-Key replay, so the request did not take effect; it is safe to retry.",
    );
    failure.cause = error.cause;
    throw failure;
  }
}

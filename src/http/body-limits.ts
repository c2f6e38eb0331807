/**
 * Limits request bodies must keep, before anything reads them whole. On every route:
 *
 * - **size**: a body over `limit` bytes (`gateway.max_body_bytes`, 1 MiB by default) is
 *   refused with 413 `request_too_large` — on its `Content-Length` before a byte is read; a
 *   body is then read here, never past the limit, unless its route streams it on (a gateway
 *   route, which counts the bytes as it forwards them).
 *
 * On Keygate's own routes (a gateway route's body is its upstream's, whatever it holds):
 *
 * - **compression**: a body sent with a `Content-Encoding` (gzip, br, …) is refused with 415
 *   `unsupported_content_encoding` (raw-body.ts, `refuseContentEncoding`): Keygate reads bodies
 *   as sent, and a few compressed bytes can expand past any limit;
 * - **encoding**: Keygate's own routes take JSON in UTF-8 (raw-body.ts, `parseJsonBody`): bytes
 *   that are not UTF-8 are refused with 400 `invalid_request`, not stored with their
 *   characters replaced, and so is an object naming a member twice (input/duplicate-member.ts);
 * - **depth**: a parsed body nesting arrays and objects deeper than {@link MAX_BODY_DEPTH} is
 *   refused with 400 `invalid_request` before it is validated. No Keygate body nests more
 *   than three levels, and a body nested thousands deep exhausts the stack of whatever walks
 *   it (Elysia's validation error did: a 500);
 * - **text**: a string (or member name) that is not well-formed Unicode — JSON's `\ud800`, an
 *   unpaired surrogate escape — is refused with 400 `invalid_request`, as I-JSON (RFC 7493
 *   §2.1) requires: it has no UTF-8 form, so it could be neither stored as sent nor hashed
 *   into the event log by a rule another language can follow;
 * - **shape**: every body Keygate's own routes take is a JSON object (SPEC §6). Any other JSON
 *   value (an array, a string, a number, `true`, `null`) is refused with 400 `invalid_request`
 *   saying so; left to validation, Elysia would read it as `{}` (a rotation sent `5` rotated
 *   the key) or report it as a missing field. An empty body is no body: a route whose body is
 *   optional runs without one, the others say the body is missing (envelope.ts);
 * - **`__proto__`**: a member of that name, at any depth, is refused as the unexpected
 *   property it is, as validation refuses any other (which does not see this one: it reads it
 *   as the prototype).
 */
import { Elysia } from "elysia";
import { invalidRequest, requestTooLarge } from "../errors/keygate-error.ts";
import type { GatewayRouteTest } from "../gateway/index.ts";
import {
  isJsonObject,
  parseJsonBody,
  readBody,
  readRawBody,
  refuseContentEncoding,
} from "./raw-body.ts";

/** How deep arrays and objects may nest in a request body. */
export const MAX_BODY_DEPTH = 32;

/**
 * What is wrong with a parsed body: nothing, too deep, text that is not well-formed, or a
 * member named `__proto__` (JSON.parse keeps it as data, but JavaScript code that copies or
 * reads the object meets it as the prototype: no Keygate object has such a field).
 */
export type BodyFault = undefined | "too_deep" | "ill_formed_text" | "proto_member";

/**
 * The first fault of a parsed body: arrays and objects nested more than `max` levels deep, a
 * string or member name holding an unpaired surrogate, or a member named `__proto__`. Walked
 * without recursion.
 */
export function bodyFault(value: unknown, max: number): BodyFault {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node === "string") {
      if (!node.isWellFormed()) return "ill_formed_text";
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) return "too_deep";
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!key.isWellFormed()) return "ill_formed_text";
      if (key === "__proto__") return "proto_member";
      pending.push([record[key], depth + 1]);
    }
  }
  return undefined;
}

/**
 * Where in `value` (no deeper than `max`) the first `fault` is — an ill-formed string or member
 * name, or a member named `__proto__` — as a field path (`name`, `items[0].note`); "" for
 * the body itself.
 */
export function faultAt(
  value: unknown,
  max: number,
  fault: "ill_formed_text" | "proto_member",
): string | undefined {
  const badMember =
    fault === "ill_formed_text"
      ? (key: string) => !key.isWellFormed()
      : (key: string) => key === "__proto__";
  const pending: [unknown, string, number][] = [[value, "", 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, path, depth] = next;
    if (fault === "ill_formed_text" && typeof node === "string" && !node.isWellFormed())
      return path;
    if (typeof node !== "object" || node === null || depth > max) continue;
    const record = node as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      // Named as `param` names fields everywhere else (envelope.ts): `items[0].note`.
      const at = Array.isArray(node) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (badMember(key)) return at.toWellFormed();
      pending.push([record[key], at, depth + 1]);
    }
  }
  return undefined;
}

/**
 * What the parse hook hands on for a request to one of Keygate's own routes that has no body:
 * not `undefined`, which would send Elysia on to its own JSON parser (it fails on a body that
 * is not there), but this, which the transform hook turns back into no body before validation.
 */
const NO_BODY = Object.freeze({ noBody: true });

/** How a message names a JSON value that is not an object. */
function jsonKindOf(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  return String(value);
}

/**
 * The body-limits plugin; mount it before anything that parses bodies. `isGatewayRoute`: which
 * requests are the gateway's, whose routes read their own bodies as streams.
 */
export function bodyLimits(limit: number, isGatewayRoute: GatewayRouteTest = () => false) {
  return (
    new Elysia({ name: "keygate/body-limits" })
      .onParse({ as: "global" }, ({ request, route }) => {
        const declared = request.headers.get("content-length");
        if (declared !== null && Number(declared) > limit) throw requestTooLarge(limit);
        // A gateway route's body is its upstream's: streamed on, never parsed here.
        if (isGatewayRoute(request.method, route)) return undefined;
        if (!request.body) return NO_BODY;
        refuseContentEncoding(request);
        // Keygate's own routes: read here, up to the limit (a chunked body has no length to
        // refuse it by), and parsed as strict UTF-8 JSON.
        // The bytes are kept only for a request whose Idempotency-Key fingerprints them.
        const read = request.headers.has("idempotency-key") ? readRawBody : readBody;
        return read(request, limit).then((bytes) => {
          const body = parseJsonBody(bytes);
          return body === undefined ? NO_BODY : body;
        });
      })
      // Transform hooks run after parsing and before validation.
      .onTransform({ as: "global" }, (context) => {
        const { body, request, route } = context;
        if (body === NO_BODY) {
          (context as { body: unknown }).body = undefined;
          return;
        }
        // These rules guard what Keygate reads and stores; a gateway route's body is its
        // upstream's, never parsed here (the idempotency plugin reads its bytes, no more).
        if (body === undefined || isGatewayRoute(request.method, route)) return;
        if (!isJsonObject(body))
          throw invalidRequest(`The body must be a JSON object, not ${jsonKindOf(body)}.`);
        const fault = bodyFault(body, MAX_BODY_DEPTH);
        if (fault === "too_deep")
          throw invalidRequest(
            `The body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels.`,
          );
        if (fault === undefined) return;
        const field = faultAt(body, MAX_BODY_DEPTH, fault) || undefined;
        if (fault === "ill_formed_text")
          throw invalidRequest(
            `${field ?? "The body"} is not well-formed Unicode text: it holds an unpaired surrogate (such as \\ud800), which has no UTF-8 form.`,
            field,
          );
        throw invalidRequest(`${field}: Unexpected property.`, field);
      })
  );
}

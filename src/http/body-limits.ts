/**
 * Limits every request body must keep, on every route, before anything reads it whole:
 *
 * - **size**: a body over `limit` bytes (`gateway.max_body_bytes`, 1 MiB by default) is
 *   refused with 413 `request_too_large` — on its `Content-Length` before a byte is read; a
 *   body sent without one (chunked) is read here, never past the limit, unless its route
 *   streams it on (a gateway route, which counts the bytes as it forwards them);
 * - **depth**: a parsed body nesting arrays and objects deeper than {@link MAX_BODY_DEPTH} is
 *   refused with 400 `invalid_request` before it is validated. No Keygate body nests more
 *   than three levels, and a body nested thousands deep exhausts the stack of whatever walks
 *   it (Elysia's validation error did: a 500).
 */
import { Elysia } from "elysia";
import { invalidRequest, requestTooLarge } from "../errors/keygate-error.ts";
import { parseRawBody, readRawBody } from "./raw-body.ts";

/** How deep arrays and objects may nest in a request body. */
export const MAX_BODY_DEPTH = 32;

/** Whether `value` nests arrays and objects more than `max` levels deep (walked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * The body-limits plugin; mount it before anything that parses bodies. `streamed`: the routes
 * (`"METHOD /pattern"`) that read their own bodies as streams.
 */
export function bodyLimits(limit: number, streamed: ReadonlySet<string> = new Set()) {
  return (
    new Elysia({ name: "keygate/body-limits" })
      .onParse({ as: "global" }, ({ request, route }, contentType) => {
        const declared = request.headers.get("content-length");
        if (declared !== null) {
          if (Number(declared) > limit) throw requestTooLarge(limit);
          return undefined;
        }
        // Chunked: nothing says how long it is, so it is read here, up to the limit.
        if (!request.body || streamed.has(`${request.method} ${route}`)) return undefined;
        return readRawBody(request, limit).then((bytes) => parseRawBody(bytes, contentType));
      })
      // Transform hooks run after parsing and before validation.
      .onTransform({ as: "global" }, ({ body }) => {
        if (typeof body === "object" && body !== null && nestsDeeperThan(body, MAX_BODY_DEPTH))
          throw invalidRequest(
            `The body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels.`,
          );
      })
  );
}

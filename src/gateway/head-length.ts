/**
 * The `Content-Length` of the answer to a HEAD the gateway forwards. RFC 9110 §8.6: a
 * `Content-Length` in the answer to a HEAD is the length a GET would have had, or it is not
 * sent. The upstream's answer to the HEAD says that length and carries no body. But Elysia
 * 1.4 answers a HEAD by running the GET route and then sets `Content-Length` to the number of
 * bytes in the body the route returned (its general handler, `getResponseLength`), whatever
 * the route's answer said: the client read `Content-Length: 0` for every resource behind the
 * gateway. So the upstream's length is handed to Elysia as a body of that many zero bytes,
 * which it counts and drops; the server sends no body in answer to a HEAD.
 */

/**
 * Statuses whose answers never have a body (a `Response` with one cannot be made). No 1xx
 * comes here: `sendUpstream` answers those 502 (proxy.ts).
 */
const NO_BODY_STATUSES = new Set([204, 205, 304]);

/** A `Content-Length` value: digits, no sign, no space. */
const LENGTH = /^[0-9]+$/;

/** The size of the zero chunk handed out again and again: no length costs a buffer its size. */
const CHUNK_BYTES = 1024 * 1024;
/** That chunk, made at the first HEAD that needs it. */
let zeros: Uint8Array | undefined;

/**
 * The longest length handed over (1 TiB): Elysia reads the zero bytes a chunk at a time, about
 * 150 ms for this many on the CI machine, and a length an upstream got wrong (`9e15`) must not
 * hold a core for hours. A longer one is answered as Elysia makes it, `Content-Length: 0`.
 */
const MAX_LENGTH = 2 ** 40;

/** A stream of `length` zero bytes, made as they are read. */
function zeroBytes(length: number): ReadableStream<Uint8Array> {
  zeros ??= new Uint8Array(CHUNK_BYTES);
  const chunk = zeros;
  let left = length;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(left, CHUNK_BYTES);
      controller.enqueue(size === CHUNK_BYTES ? chunk : chunk.subarray(0, size));
      left -= size;
      if (left === 0) controller.close();
    },
  });
}

/**
 * The upstream's answer `response` to a HEAD, made so that the server passes its
 * `Content-Length` on (above). An answer with no length, a length of 0 or over
 * {@link MAX_LENGTH}, or a status that takes no body is returned as it is.
 */
export function withLengthForHead(response: Response): Response {
  const length = response.headers.get("content-length");
  if (length === null || !LENGTH.test(length) || NO_BODY_STATUSES.has(response.status))
    return response;
  const bytes = Number(length);
  if (bytes === 0 || bytes > MAX_LENGTH) return response;
  const { status, statusText, headers } = response;
  // The upstream's body, if it sent one against the rules, is not read.
  void response.body?.cancel();
  return new Response(zeroBytes(bytes), { status, statusText, headers });
}

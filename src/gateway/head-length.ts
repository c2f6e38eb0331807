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

/** Statuses whose answers never have a body (a `Response` with one cannot be made). */
const NO_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** A `Content-Length` value: digits, no sign, no space. */
const LENGTH = /^[0-9]+$/;

/** The zero bytes handed out, a chunk at a time: a large length costs no large buffer. */
const ZEROS = new Uint8Array(64 * 1024);

/** A stream of `length` zero bytes, made as they are read. */
function zeroBytes(length: number): ReadableStream<Uint8Array> {
  let left = length;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(left, ZEROS.byteLength);
      controller.enqueue(size === ZEROS.byteLength ? ZEROS : ZEROS.subarray(0, size));
      left -= size;
      if (left === 0) controller.close();
    },
  });
}

/**
 * The upstream's answer `response` to a HEAD, made so that the server passes its
 * `Content-Length` on (above). An answer with no length, a length of 0, or a status that
 * takes no body is returned as it is.
 */
export function withLengthForHead(response: Response): Response {
  const length = response.headers.get("content-length");
  if (length === null || !LENGTH.test(length) || NO_BODY_STATUSES.has(response.status))
    return response;
  const bytes = Number(length);
  if (bytes === 0 || !Number.isSafeInteger(bytes)) return response;
  const { status, statusText, headers } = response;
  // The upstream's body, if it sent one against the rules, is not read.
  void response.body?.cancel();
  return new Response(zeroBytes(bytes), { status, statusText, headers });
}

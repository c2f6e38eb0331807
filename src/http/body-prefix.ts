/**
 * A body read up to a cap and no further, so that memory stays bounded whatever is sent: a
 * chunked request body over the size limit is refused once the limit is passed (raw-body.ts);
 * a recorded idempotent answer is kept only up to `idempotency.max_response_bytes`, and a
 * longer one is passed on to the client as it streams, its first bytes included.
 */

/** What is still to be read of a body. */
interface RestOfBody {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

/** What {@link readUpTo} found: the whole body, or its first chunks and the reader of the rest. */
export type BodyPrefix =
  | { complete: true; bytes: Uint8Array }
  | { complete: false; chunks: Uint8Array[]; size: number; rest: RestOfBody };

/** Reads `body` until it ends, or until more than `cap` bytes have arrived. */
export async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  cap: number,
): Promise<BodyPrefix> {
  if (!body) return { complete: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= cap) {
    const { done, value } = await reader.read();
    if (done || !value) return { complete: true, bytes: Buffer.concat(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
  }
  return { complete: false, chunks, size, rest: reader };
}

/** A body that ran past the cap, whole again: the chunks already read, then the rest as it comes. */
export function resumed(
  prefix: Extract<BodyPrefix, { complete: false }>,
): ReadableStream<Uint8Array> {
  const { chunks, rest } = prefix;
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks[next];
      if (chunk) {
        chunks[next++] = new Uint8Array(0); // handed on: not held twice
        controller.enqueue(chunk);
        return;
      }
      const { done, value } = await rest.read();
      if (done || !value) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => rest.cancel(reason),
  });
}

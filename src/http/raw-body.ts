/**
 * Request bodies read as bytes before the route runs — by the idempotency plugin (its
 * fingerprint hashes the body as sent) or a gateway route that selects its entity from the
 * body — kept per request so that whoever comes next (the proxy) sends the same bytes.
 */
import { requestTooLarge } from "../errors/keygate-error.ts";

const rawBodies = new WeakMap<Request, Uint8Array>();

/**
 * Reads `request`'s body whole and keeps it, refusing one over `limit` bytes with 413 — by
 * its Content-Length before reading, and by what arrived after.
 */
export async function readRawBody(request: Request, limit: number): Promise<Uint8Array> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw requestTooLarge(limit);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > limit) throw requestTooLarge(limit);
  rawBodies.set(request, bytes);
  return bytes;
}

/** The bytes already read from `request`'s body, if they were. */
export function rawBodyOf(request: Request): Uint8Array | undefined {
  return rawBodies.get(request);
}

/** A JSON body's bytes parsed (an empty body is no body). */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  return bytes.length === 0 ? undefined : JSON.parse(new TextDecoder().decode(bytes));
}

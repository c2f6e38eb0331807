/**
 * Request bodies read as bytes before the route runs — by the idempotency plugin (its
 * fingerprint hashes the body as sent) or a gateway route that selects its entity from the
 * body — kept per request so that whoever comes next (the proxy) sends the same bytes.
 */
const rawBodies = new WeakMap<Request, Uint8Array>();

/** Keeps the bytes read from `request`'s body. */
export function rememberRawBody(request: Request, bytes: Uint8Array): void {
  rawBodies.set(request, bytes);
}

/** The bytes already read from `request`'s body, if they were. */
export function rawBodyOf(request: Request): Uint8Array | undefined {
  return rawBodies.get(request);
}

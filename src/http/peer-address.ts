/**
 * The address of the client's end of each connection. Elysia hands routes Bun's `server`,
 * whose `requestIP` knows it; a server that does not (Deno.serve) records it here per request.
 */

/** What Elysia's context offers as `server` (Bun's server, or nothing). */
export interface PeerLookup {
  requestIP(request: Request): { address: string } | null;
}

const peers = new WeakMap<Request, string>();

/** Records the peer address of a request (for runtimes whose server Elysia does not know). */
export function rememberPeer(request: Request, address: string): void {
  peers.set(request, address);
}

/** The peer address of `request`, if the server knows it. */
export function peerAddressOf(
  request: Request,
  server: PeerLookup | null | undefined,
): string | undefined {
  return server?.requestIP(request)?.address ?? peers.get(request);
}

/** {@link peerAddressOf}, or `"unknown"` when the server cannot tell (one bucket for such clients). */
export function peerAddressOrUnknown(
  request: Request,
  server: PeerLookup | null | undefined,
): string {
  return peerAddressOf(request, server) ?? "unknown";
}

/**
 * The client's address: the peer's, or — when the peer is a trusted proxy
 * (`gateway.trusted_proxies`, loopback by default) — the one it forwarded in `X-Real-IP`, else
 * the last entry of `X-Forwarded-For` (the one the proxy itself appended).
 */
export function clientAddressOf(
  peer: string,
  headers: Headers,
  trustedProxies: readonly string[],
): string {
  if (!trustedProxies.includes(peer)) return peer;
  const real = headers.get("x-real-ip")?.trim();
  if (real) return real;
  const forwarded = headers.get("x-forwarded-for");
  const last = forwarded?.split(",").at(-1)?.trim();
  return last || peer;
}

/** {@link clientAddressOf} the peer of `request` ("unknown" when the server cannot tell). */
export function clientAddress(
  request: Request,
  server: PeerLookup | null | undefined,
  trustedProxies: readonly string[],
): string {
  return clientAddressOf(peerAddressOrUnknown(request, server), request.headers, trustedProxies);
}

/**
 * {@link clientAddress}, looked up later: the failed-auth limiter asks only when it has
 * something to say about the address.
 */
export function clientAddressLookup(
  request: Request,
  server: PeerLookup | null | undefined,
  trustedProxies: readonly string[],
): () => string {
  return () => clientAddress(request, server, trustedProxies);
}

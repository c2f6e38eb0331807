/**
 * The address of the client's end of each connection. Elysia hands routes Bun's `server`,
 * whose `requestIP` knows it; a server that does not (Deno.serve) records it here per request.
 */
import type { AddressList } from "../config/address-list.ts";

/** What Elysia's context offers as `server` (Bun's server, or nothing). */
export interface PeerLookup {
  requestIP(request: Request): { address: string } | null;
}

const peers = new WeakMap<Request, string>();

/** The address of a client that cannot be told: one bucket for all such, allowed nothing. */
export const UNKNOWN_ADDRESS = "unknown";

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

/** {@link peerAddressOf}, or {@link UNKNOWN_ADDRESS} when the server cannot tell. */
export function peerAddressOrUnknown(
  request: Request,
  server: PeerLookup | null | undefined,
): string {
  return peerAddressOf(request, server) ?? UNKNOWN_ADDRESS;
}

/**
 * The client's address: the peer's, or — when the peer is a trusted proxy
 * (`gateway.trusted_proxies`, loopback by default) — the one it forwarded: `X-Real-IP` and
 * the last entry of `X-Forwarded-For` (the one the proxy itself appended), whichever it sent.
 *
 * When it sent both and they differ, one came from the client: proxies set one and pass the
 * other on as received (nginx sets `X-Real-IP` where it is told to, and passes a client's own
 * `X-Forwarded-For`; Caddy appends to `X-Forwarded-For` and passes a client's `X-Real-IP`).
 * Believing either would let a client choose its address — another one for each guess past
 * the failed-authentication limiter, or a loopback one for `GET /metrics` — so the client is
 * then {@link UNKNOWN_ADDRESS}: a bucket of its own, allowed nothing by address.
 */
export function clientAddressOf(
  peer: string,
  headers: Headers,
  trustedProxies: AddressList,
): string {
  if (!trustedProxies.has(peer)) return peer;
  const real = headers.get("x-real-ip")?.trim() || undefined;
  const last = headers.get("x-forwarded-for")?.split(",").at(-1)?.trim() || undefined;
  if (real !== undefined && last !== undefined && real !== last) return UNKNOWN_ADDRESS;
  return real ?? last ?? peer;
}

/** {@link clientAddressOf} the peer of `request` ({@link UNKNOWN_ADDRESS} when it cannot be told). */
export function clientAddress(
  request: Request,
  server: PeerLookup | null | undefined,
  trustedProxies: AddressList,
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
  trustedProxies: AddressList,
): () => string {
  return () => clientAddress(request, server, trustedProxies);
}

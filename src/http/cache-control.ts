/**
 * Responses that carry a secret — a new or rotated key, a management token — tell every cache
 * on the way (a proxy, a CDN, the client's HTTP library) not to keep them: `Cache-Control:
 * no-store` (RFC 9111 §5.2.2.5). POST responses are rarely cached anyway, but a secret should
 * not depend on that. Idempotent replays repeat the header with the recorded response.
 */

/** Marks the response being built as one no cache may store. */
export function forbidCaching(set: { headers: Record<string, unknown> }): void {
  set.headers["cache-control"] = "no-store";
}

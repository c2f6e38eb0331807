/**
 * The response headers the HTTP API sends, as `/openapi.json` publishes them under
 * `components.headers` (docs/http.md): the two ids on every answer, the rate-limit fields on
 * every answer to an authenticated request, `Retry-After`, `Accept-Encoding` on a refused
 * compressed body, `Idempotent-Replayed`,
 * `Cache-Control` on answers holding a secret, and forward-auth's identity headers. Like the
 * objects of api-objects.ts they describe and are not checked on the way out; the OpenAPI test
 * checks every header of every route's real answer against what its operation declares.
 */

const text = (description: string, extra: Record<string, unknown> = {}) => ({
  description,
  schema: { type: "string", ...extra },
});
const whole = (description: string) => ({
  description,
  schema: { type: "integer", minimum: 0 },
});

/** Every response header Keygate itself sets, by its name as the document gives it. */
export const API_HEADERS = {
  "X-Request-Id": {
    ...text(
      "This request's id (req_…): in the access log, in the events it appended and in any error envelope",
    ),
    required: true,
  },
  "X-Correlation-Id": {
    ...text("The X-Correlation-Id sent, when it was a UUID; else a new one", { format: "uuid" }),
    required: true,
  },
  "X-RateLimit-Limit": whole("Requests allowed per window by the tightest policy"),
  "X-RateLimit-Remaining": whole("Requests left in that policy's window"),
  "X-RateLimit-Reset": whole("When that window ends, in Unix seconds"),
  "RateLimit-Policy": text('Every policy that applies, as IETF fields: "name";q=limit;w=seconds'),
  RateLimit: text('The tightest policy\'s state, as an IETF field: "name";r=remaining;t=seconds'),
  "Retry-After": whole(
    "Whole seconds to wait: on 429, and on 409 idempotency_key_in_use while the first request runs",
  ),
  "Accept-Encoding": text(
    "identity: on 415 unsupported_content_encoding, the one Content-Encoding a body is taken in",
    { enum: ["identity"] },
  ),
  "Idempotent-Replayed": text("true when this is the recorded answer to an earlier request", {
    enum: ["true"],
  }),
  "Cache-Control": text("no-store: the answer holds a secret no cache may keep", {
    enum: ["no-store"],
  }),
  "X-Keygate-Key-Id": text("The key's id (key_…)"),
  "X-Keygate-Entity-Id": text("The entity the request acts for (ent_…)"),
  "X-Keygate-Entity-Path": text("That entity's ids from the platform down, joined by /"),
  "X-Keygate-Livemode": text("true for a live key, false for a test key", {
    enum: ["true", "false"],
  }),
  "X-Keygate-Scopes": text("The key's scopes, joined by spaces"),
  "X-Keygate-Error": text("The error envelope, as ASCII JSON, for the proxy to pass on"),
} as const;

/** The name of a header in {@link API_HEADERS}. */
export type ApiHeaderName = keyof typeof API_HEADERS;

/** Sent on every answer. */
export const ID_HEADERS: readonly ApiHeaderName[] = ["X-Request-Id", "X-Correlation-Id"];

/** Sent on every answer to an authenticated request, when a rate-limit policy applies. */
export const RATE_LIMIT_HEADERS: readonly ApiHeaderName[] = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit-Policy",
  "RateLimit",
];

/** Forward-auth's answer when the request may pass: who is calling, for the proxy to forward. */
export const IDENTITY_HEADERS: readonly ApiHeaderName[] = [
  "X-Keygate-Key-Id",
  "X-Keygate-Entity-Id",
  "X-Keygate-Entity-Path",
  "X-Keygate-Livemode",
  "X-Keygate-Scopes",
];

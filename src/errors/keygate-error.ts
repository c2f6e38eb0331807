/**
 * The one closed union of errors Keygate raises. Every failure a caller can see is a
 * {@link KeygateError} with a code from {@link ERROR_CATALOGUE}; the HTTP layer and the CLI
 * map it to their envelope in one place each.
 */

/** The envelope `type` an error belongs to. */
export type ErrorType =
  | "authentication"
  | "permission"
  | "rate_limited"
  | "idempotency"
  | "invalid_request"
  | "api_error";

interface ErrorEntry {
  status: number;
  type: ErrorType;
  message: string;
}

/** Every error code with its HTTP status, envelope type and default message. */
export const ERROR_CATALOGUE = {
  api_key_missing: { status: 401, type: "authentication", message: "No API key was provided." },
  api_key_malformed: {
    status: 401,
    type: "authentication",
    message: "The API key is not well formed.",
  },
  api_key_invalid: {
    status: 401,
    type: "authentication",
    message: "No valid API key was provided.",
  },
  api_key_revoked: {
    status: 401,
    type: "authentication",
    message: "This API key has been revoked.",
  },
  api_key_expired: { status: 401, type: "authentication", message: "This API key has expired." },
  entity_inactive: {
    status: 401,
    type: "authentication",
    message: "The entity this API key belongs to is inactive.",
  },
  expired_token: { status: 401, type: "authentication", message: "The token has expired." },
  invalid_token: {
    status: 401,
    type: "authentication",
    message: "The token is not valid.",
  },
  token_not_accepted: {
    status: 401,
    type: "authentication",
    message: "Management tokens are not accepted on this route; use an API key.",
  },
  insufficient_scope: {
    status: 403,
    type: "permission",
    message: "The API key lacks a scope this request needs.",
  },
  entity_forbidden: {
    status: 403,
    type: "permission",
    message: "The request addresses an entity outside the API key's subtree.",
  },
  environment_forbidden: {
    status: 403,
    type: "permission",
    message: "An API key acts only in its own environment.",
  },
  invalid_credentials: {
    status: 401,
    type: "authentication",
    message: "The email or password is not correct.",
  },
  resource_missing: { status: 404, type: "invalid_request", message: "No such resource." },
  resource_conflict: {
    status: 409,
    type: "invalid_request",
    message: "The request conflicts with the current state of the resource.",
  },
  rate_limited: { status: 429, type: "rate_limited", message: "Too many requests." },
  idempotency_key_missing: {
    status: 400,
    type: "idempotency",
    message: "This route requires an Idempotency-Key header.",
  },
  idempotency_key_invalid: {
    status: 400,
    type: "idempotency",
    message: "The Idempotency-Key header is not valid.",
  },
  idempotency_mismatch: {
    status: 409,
    type: "idempotency",
    message: "This Idempotency-Key was used with a different request.",
  },
  idempotency_key_in_use: {
    status: 409,
    type: "idempotency",
    message: "A request with this Idempotency-Key is still being processed.",
  },
  idempotency_result_too_large: {
    status: 409,
    type: "idempotency",
    message:
      "The first request with this Idempotency-Key completed, but its response was too large to keep; it will not run again.",
  },
  invalid_request: { status: 400, type: "invalid_request", message: "The request is not valid." },
  request_too_large: {
    status: 413,
    type: "invalid_request",
    message: "The request body is larger than this route accepts.",
  },
  unsupported_content_encoding: {
    status: 415,
    type: "invalid_request",
    message: "The request body is compressed; send it uncompressed.",
  },
  unsupported_content_type: {
    status: 415,
    type: "invalid_request",
    message:
      "The request body is not declared as JSON; send it with Content-Type: application/json.",
  },
  access_denied: {
    status: 403,
    type: "permission",
    message: "This endpoint is not open to this caller.",
  },
  upstream_unreachable: {
    status: 502,
    type: "api_error",
    message: "The upstream service could not be reached; the request was not delivered.",
  },
  upstream_timeout: {
    status: 504,
    type: "api_error",
    message: "The upstream service did not answer in time; the request may have taken effect.",
  },
  api_error: { status: 500, type: "api_error", message: "An internal error occurred." },
} as const satisfies Record<string, ErrorEntry>;

/** A code of the closed error union. */
export type KeygateErrorCode = keyof typeof ERROR_CATALOGUE;

/** A failure a caller may see: a code from the catalogue, a message, and the field at fault. */
export class KeygateError extends Error {
  override readonly name = "KeygateError";

  constructor(
    /** The catalogue code. */
    readonly code: KeygateErrorCode,
    message?: string,
    /** The request field at fault, when there is one (e.g. `scopes[1]`). */
    readonly param?: string,
    /** For 429s and in-use conflicts: whole seconds the client should wait (`Retry-After`). */
    readonly retryAfterSeconds?: number,
    /** A status the configuration chose instead of the catalogue's (422 for a mismatch). */
    readonly statusOverride?: number,
  ) {
    super(message ?? ERROR_CATALOGUE[code].message);
  }

  /** The HTTP status of this error. */
  get status(): number {
    return this.statusOverride ?? ERROR_CATALOGUE[this.code].status;
  }

  /** The envelope type of this error's code. */
  get type(): ErrorType {
    return ERROR_CATALOGUE[this.code].type;
  }
}

/** 413 `request_too_large`: a body over `limit` bytes. */
export function requestTooLarge(limit: number): KeygateError {
  return new KeygateError(
    "request_too_large",
    `The request body is over the limit of ${limit} bytes.`,
  );
}

/** Shorthand for a 400 `invalid_request` naming the field at fault. */
export function invalidRequest(message: string, param?: string): KeygateError {
  return new KeygateError("invalid_request", message, param);
}

/** 400 `invalid_request` for a path parameter whose percent-encoding does not decode. */
export function badPercentEncoding(name: string): KeygateError {
  return invalidRequest(`${name}: not valid percent-encoding.`, name);
}

/** 401 `entity_inactive` for a dashboard user (the catalogue's message speaks of an API key). */
export function userEntityInactive(): KeygateError {
  return new KeygateError("entity_inactive", "The entity this user belongs to is inactive.");
}

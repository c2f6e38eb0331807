/**
 * The error envelope, in one place: every failure a client sees — a KeygateError, a body
 * that fails its schema, unparseable JSON, an unknown route, a bug — becomes
 * `{"error":{"type","code","message","requestId"[,"param"]}}` with its HTTP status.
 * Codes are renamed here, and only here, by the configuration.
 */
import { ValueErrorType } from "@sinclair/typebox/errors";
import { maskCredentialsIn } from "../auth/mask-credentials.ts";
import { fieldPath } from "../errors/field-path.ts";
import { ERROR_CATALOGUE, KeygateError, type KeygateErrorCode } from "../errors/keygate-error.ts";
import { explained, QUERY_PARAMETER, type SchemaIssue } from "../errors/schema-issue.ts";

/**
 * The content type of every JSON answer, errors included: the one Elysia gives an object a
 * handler returns, so that a client sees a single value whatever the status.
 */
export const JSON_CONTENT_TYPE = "application/json;charset=utf-8";

/** The JSON body of every error response. */
export interface ErrorEnvelope {
  error: { type: string; code: string; message: string; requestId: string; param?: string };
}

/** Renamed codes, e.g. `{ api_key_invalid: "invalid_api_key" }`. */
export type CodeNames = Partial<Record<KeygateErrorCode, string>>;

/**
 * What a string that failed its schema's pattern should have been, when the schema says in
 * its `description` (which the OpenAPI document shows too): "a whole number, in digits" reads
 * better than the regular expression.
 */
function patternDescribed(issue: SchemaIssue): string | undefined {
  if (issue.type !== ValueErrorType.StringPattern) return undefined;
  return (issue.schema as { description?: string } | undefined)?.description;
}

/** Turns a failure of any kind into a KeygateError (unknown failures become `api_error`). */
export function toKeygateError(code: string | number, error: unknown): KeygateError {
  if (error instanceof KeygateError) return error;
  // Elysia wraps what a parse hook throws (a body over the limit) in its own ParseError.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof KeygateError) return cause;
  switch (code) {
    case "VALIDATION": {
      const { type, value } = error as { type?: string; value?: unknown };
      if (type === "body" && value === undefined)
        return new KeygateError(
          "invalid_request",
          "The body is missing: this route takes a JSON object.",
        );
      const all = (error as { all?: SchemaIssue[] }).all ?? [];
      const first = all[0] && explained(all[0], type === "query" ? QUERY_PARAMETER : undefined);
      const field = fieldPath(first?.path ?? "");
      const described = first && patternDescribed(first);
      if (field && described)
        return new KeygateError("invalid_request", `${field} must be ${described}.`, field);
      const message = first?.message ?? "does not match the schema";
      return new KeygateError(
        "invalid_request",
        field ? `${field}: ${message}.` : `${message}.`,
        field || undefined,
      );
    }
    case "PARSE":
      return new KeygateError("invalid_request", "The body is not valid JSON.");
    default:
      return new KeygateError("api_error");
  }
}

/** The longest path a message repeats: a client's 64 KiB URL is not echoed back whole. */
const SHOWN_PATH_CHARS = 200;

/**
 * 404 `resource_missing` for a request no route answers, naming its method and path and, when
 * the path is a route's under other methods, those methods.
 */
export function routeNotFound(
  method: string,
  path: string,
  allowed: readonly string[],
): KeygateError {
  const shown = path.length > SHOWN_PATH_CHARS ? `${path.slice(0, SHOWN_PATH_CHARS)}…` : path;
  const others = allowed.length > 0 ? `; ${shown} takes ${allowed.join(", ")}` : "";
  return new KeygateError("resource_missing", `No route answers ${method} ${shown}${others}.`);
}

/** The code as the wire shows it: renamed when the configuration says so. */
export function wireCode(code: KeygateErrorCode, names: CodeNames): string {
  return names[code] ?? code;
}

/** The envelope of an error, its code renamed as configured. */
export function envelopeOf(
  error: KeygateError,
  requestId: string,
  names: CodeNames,
): ErrorEnvelope {
  return {
    error: {
      type: ERROR_CATALOGUE[error.code].type,
      code: wireCode(error.code, names),
      // A message may quote what the client sent (the id it asked for), and `param` name a
      // member or parameter as sent (a key pasted as a field's name): never a whole key.
      message: maskCredentialsIn(error.message),
      requestId,
      ...(error.param ? { param: maskCredentialsIn(error.param) } : {}),
    },
  };
}

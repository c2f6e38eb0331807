/**
 * Where an `Idempotency-Key` must be sent: the routes of `idempotency.required` and the gateway
 * routes marked `"idempotency": "required"` (config.ts merges both). One rule for the step that
 * refuses a request without one and for the OpenAPI document that marks the header required.
 */
import type { IdempotencyConfig } from "../config/config.ts";
import { ruleCovers } from "../http/path-pattern.ts";

/**
 * Whether a request of `method` (upper case) to `path`, served by the route of pattern `route`,
 * must carry an Idempotency-Key: a gateway route's rule holds for the requests that route
 * serves; an `idempotency.required` entry for every path its pattern covers.
 */
export function keyRequiredAt(
  config: Pick<IdempotencyConfig, "required">,
): (method: string, path: string, route: string) => boolean {
  // The method exactly: the header is read on the configured methods only (HEAD is none of them).
  const required = config.required.map((r) => ruleCovers(r, (a, b) => a === b));
  return (method, path, route) => required.some((covers) => covers(method, path, route));
}

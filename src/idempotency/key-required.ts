/**
 * Where an `Idempotency-Key` must be sent: the routes of `idempotency.required` and the gateway
 * routes marked `"idempotency": "required"` (config.ts merges both). One rule for the step that
 * refuses a request without one and for the OpenAPI document that marks the header required.
 */
import type { IdempotencyConfig } from "../config/config.ts";
import { compilePathPattern } from "../http/path-pattern.ts";

/** Whether a request of `method` (upper case) to `path` must carry an Idempotency-Key. */
export function keyRequiredAt(
  config: Pick<IdempotencyConfig, "required">,
): (method: string, path: string) => boolean {
  const required = config.required.map((r) => ({
    method: r.method,
    pattern: compilePathPattern(r.path),
  }));
  return (method, path) => required.some((r) => r.method === method && r.pattern.test(path));
}

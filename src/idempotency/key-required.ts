/**
 * Where an `Idempotency-Key` must be sent: the routes of `idempotency.required` and the gateway
 * routes marked `"idempotency": "required"` (config.ts merges both). One rule for the step that
 * refuses a request without one and for the OpenAPI document that marks the header required.
 */
import type { IdempotencyConfig } from "../config/config.ts";
import { compilePathPattern } from "../http/path-pattern.ts";

/**
 * Whether a request of `method` (upper case) to `path`, served by the route of pattern `route`,
 * must carry an Idempotency-Key: a gateway route's rule holds for the requests that route
 * serves; an `idempotency.required` entry for every path its pattern covers.
 */
export function keyRequiredAt(
  config: Pick<IdempotencyConfig, "required">,
): (method: string, path: string, route: string) => boolean {
  const required = config.required.map((r) => ({
    method: r.method,
    path: r.path,
    routeOwned: r.routeOwned,
    pattern: compilePathPattern(r.path),
  }));
  return (method, path, route) =>
    required.some(
      (r) => r.method === method && (r.routeOwned ? r.path === route : r.pattern.test(path)),
    );
}

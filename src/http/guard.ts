/**
 * The guard every Keygate route uses: authentication, then (gateway routes) the target
 * entity, then the per-key rate limit, then the request's validation, then Idempotency-Key.
 * Order matters and is fixed here (SPEC §5): 401/403 → 429 → 400/409 or a replay → handler.
 * The idempotency step needs `idempotencyPlugin` mounted on the app.
 */
import type { Keygate } from "../app/keygate.ts";
import { keygateAuth } from "../auth/index.ts";
import { entitySelectionStep } from "../gateway/entity-selection.ts";
import { idempotencyStep } from "../idempotency/index.ts";
import { rateLimitChecks } from "../ratelimit/index.ts";

/**
 * keygate/auth with the entity and rate-limit checks chained after it, before the request is
 * validated, and the idempotency step after validation (each unless off).
 */
export function keygateGuard(kg: Keygate) {
  return keygateAuth(kg, {
    checks: [
      ...(kg.config.gateway.routes.some((r) => r.entity) ? [entitySelectionStep(kg)] : []),
      ...rateLimitChecks(kg),
    ],
    steps: kg.config.idempotency.enabled ? [idempotencyStep(kg)] : [],
  });
}

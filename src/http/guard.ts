/**
 * The guard every Keygate route uses: authentication, then the per-key rate limit
 * (idempotency joins the chain in issue 5). Order matters and is fixed here:
 * 401/403 → 429 → handler.
 */
import type { Keygate } from "../app/keygate.ts";
import { keygateAuth } from "../auth/index.ts";
import { rateLimitStep } from "../ratelimit/index.ts";

/** keygate/auth with the rate-limit step chained after it (unless rate limits are off). */
export function keygateGuard(kg: Keygate) {
  return keygateAuth(kg, kg.config.rateLimits.enabled ? [rateLimitStep(kg)] : []);
}

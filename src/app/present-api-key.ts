/**
 * How an API key object is shown, by the HTTP API and the CLI alike: with its last use
 * (from the batched tracker) and its effective rate limit — its own, else the configured
 * default (as SPEC §6's example and CertoPay's key metadata show it).
 */
import type { ApiKeyObject } from "../projections/queries.ts";
import { effectiveRateLimit } from "../ratelimit/index.ts";
import type { Keygate } from "./keygate.ts";

/** The key as the API and the CLI present it. */
export function presentApiKey<K extends ApiKeyObject>(kg: Keygate, key: K): K {
  // One copy, not one per field filled in: this runs on every GET /v1/me.
  return {
    ...key,
    last_used_at: kg.usage.lastUsedAt(key.id),
    rate_limit: effectiveRateLimit(kg, key.rate_limit),
  };
}

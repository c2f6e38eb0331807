/**
 * How an API key object is shown, by the HTTP API and the CLI alike: with its last use
 * (from the batched tracker) and its effective rate limit — its own, else the configured
 * default (as SPEC §6's example and CertoPay's key metadata show it).
 */
import type { ApiKeyObject } from "../projections/queries.ts";
import { withLastUsed } from "../usage/last-used-tracker.ts";
import type { Keygate } from "./keygate.ts";

/** The key as the API and the CLI present it. */
export function presentApiKey<K extends ApiKeyObject>(kg: Keygate, key: K): K {
  const fallback = kg.config.rateLimits.default;
  const shown = withLastUsed(kg.usage, key);
  return shown.rate_limit !== null || !kg.config.rateLimits.enabled || !fallback
    ? shown
    : { ...shown, rate_limit: { limit: fallback.limit, window_seconds: fallback.windowSeconds } };
}

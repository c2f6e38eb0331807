/**
 * The route rate-limit policies of the configuration: those of `rate_limits.routes` and those
 * of the gateway routes (`gateway.routes.N.rate_limit`), each under a name no other policy
 * has. A policy's name is part of its counters' key and names it in `RateLimit-Policy` (a
 * structured-field dictionary, whose keys are unique): two policies under one name would count
 * each request twice, and one named like the default or a key's own limit would share their
 * counters.
 */
import { DEFAULT_POLICY, KEY_POLICY_NAME, type RoutePolicy } from "../ratelimit/policy.ts";
import { ConfigError } from "./config-error.ts";
import type { ConfigFile } from "./config-file.ts";

/** The names the limiter gives the policies of keys: the default one, and a key's own limit. */
const RESERVED_NAMES: Record<string, string> = {
  [DEFAULT_POLICY.name]: "the name of the default policy",
  [KEY_POLICY_NAME]: "the name of a key's own limit",
};

/** One policy as written, and the field it was written at. */
interface WrittenPolicy {
  field: string;
  /** A gateway route's own (RoutePolicy.routeOwned). */
  routeOwned: boolean;
  name?: string;
  method: string;
  path: string;
  limit: number;
  window_seconds: number;
  algorithm?: "fixed" | "sliding";
}

/** The route policies of `file`, named (`METHOD /path` by default); throws on a name clash. */
export function resolveRoutePolicies(file: ConfigFile, source: string | undefined): RoutePolicy[] {
  const written: WrittenPolicy[] = [
    ...(file.rate_limits?.routes ?? []).map((r, i) => ({
      ...r,
      field: `rate_limits.routes[${i}]`,
      routeOwned: false,
    })),
    ...(file.gateway?.routes ?? []).flatMap((r, i) =>
      r.rate_limit
        ? [
            {
              ...r.rate_limit,
              method: r.method,
              path: r.path,
              field: `gateway.routes[${i}].rate_limit`,
              routeOwned: true,
            },
          ]
        : [],
    ),
  ];
  const fieldOfName = new Map<string, string>();
  return written.map((r) => {
    const name = r.name ?? `${r.method.toUpperCase()} ${r.path}`;
    const fail = (clash: string): never => {
      throw new ConfigError(
        `KEYGATE_CONFIG ${source}: ${r.field}.name: "${name}" is ${clash}: give this policy a name of its own`,
      );
    };
    const reserved = RESERVED_NAMES[name];
    if (reserved) fail(reserved);
    const taken = fieldOfName.get(name);
    if (taken) fail(`already the name of ${taken}`);
    fieldOfName.set(name, r.field);
    return {
      name,
      method: r.method.toUpperCase(),
      path: r.path,
      limit: r.limit,
      windowSeconds: r.window_seconds,
      algorithm: r.algorithm ?? "fixed",
      ...(r.routeOwned ? { routeOwned: true } : {}),
    };
  });
}

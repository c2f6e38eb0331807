/**
 * Scopes: `resource:action`, `resource:*` or `*`. Read never implies write; wildcards are
 * explicit.
 */

import { Scope } from "../../events/api-key.ts";

/** The grammar of one scope (defined once, by the event catalogue's `Scope` schema). */
export const SCOPE_PATTERN = new RegExp(Scope.pattern as string);

/** Returns the first malformed scope's index and text, or undefined when all are valid. */
export function findMalformedScope(
  scopes: readonly string[],
): { index: number; scope: string } | undefined {
  const index = scopes.findIndex((s) => !SCOPE_PATTERN.test(s));
  return index === -1 ? undefined : { index, scope: scopes[index] as string };
}

/** Whether `held` grants `needed` (`*` grants all; `links:*` grants every links action). */
export function scopeGrants(held: readonly string[], needed: string): boolean {
  if (held.includes("*") || held.includes(needed)) return true;
  const resource = needed.slice(0, needed.indexOf(":"));
  return held.includes(`${resource}:*`);
}

/** Sorted, de-duplicated scopes: the form events store. */
export function normaliseScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)].sort();
}

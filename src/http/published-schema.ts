/**
 * Schemas the OpenAPI document shows otherwise than the route validates with. Some rules are
 * checked by a route's own code rather than its schema, so that the message can say more than
 * TypeBox would (`password must be 10–1024 characters.`, `scopes[1] must be a scope: …`); the
 * document still publishes them as schema keywords, so that a generated client knows them. A
 * schema carries those keywords under {@link PUBLISHED_WITH} (or, where the document shows
 * another schema altogether, that schema under {@link PUBLISHED_AS}); TypeBox ignores both,
 * and openapi.ts applies them.
 */
import type { TSchema } from "@sinclair/typebox";

/** Where a schema keeps the schema the OpenAPI document shows in its place. */
export const PUBLISHED_AS = "x-keygate-published-as";

/** Where a schema keeps the keywords the OpenAPI document adds to it. */
const PUBLISHED_WITH = "x-keygate-published-with";

/** `schema`, published with `keywords` added to its own (the route's code checks them). */
export function publishedWith<T extends TSchema>(schema: T, keywords: Record<string, unknown>): T {
  return { ...schema, [PUBLISHED_WITH]: keywords };
}

/** A schema, or any JSON holding schemas, as the document shows it. */
export function asPublished(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asPublished);
  if (!node || typeof node !== "object") return node;
  const {
    [PUBLISHED_AS]: shown,
    [PUBLISHED_WITH]: keywords,
    ...own
  } = node as Record<string, unknown>;
  if (shown) return shown;
  const published = Object.fromEntries(
    Object.entries(own).map(([key, value]) => [key, asPublished(value)]),
  );
  return keywords ? { ...published, ...keywords } : published;
}

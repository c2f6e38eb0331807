/**
 * One page of a list route (`/v1/api-keys`, `/v1/entities/{id}/children`, `/v1/users`):
 * `limit` rows (1–100, 10 by default), and whether more follow — known by asking the query for
 * one row more than it shows.
 */
import { wholeNumberParameter } from "./query-integer.ts";

/** The `limit` of a list route's page. */
export const LIST_LIMIT = wholeNumberParameter("limit", 1, 100, 10);

/** The list object of the API. */
export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
}

/**
 * The page for the `limit` query parameter `rawLimit`: `fetch` is asked for up to `limit + 1`
 * rows (after the route's own cursor), and the ones shown are passed through `present`.
 */
export function listPage<R, T>(
  rawLimit: string | undefined,
  fetch: (limit: number) => R[],
  present: (row: R) => T,
): ListPage<T> {
  const limit = LIST_LIMIT.read(rawLimit);
  const rows = fetch(limit + 1);
  return { object: "list", data: rows.slice(0, limit).map(present), has_more: rows.length > limit };
}

/** Resolving an entity a request names: it must exist and lie inside the caller's subtree. */
import { t } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { type Identity, requireInSubtree } from "../auth/identity.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { type EntityObject, findEntity } from "../projections/queries.ts";

/**
 * The schema of a field naming an entity by id (`entity_id`, `parent_id`): an empty one is
 * refused as empty, not looked up ("No such entity: ."); an unknown one is 404, as any id.
 */
export const EntityIdField = t.String({ minLength: 1, maxLength: 100 });

/** The entity `id`, or `resource_missing` / `entity_forbidden` naming `param`. */
export function entityInSubtree(
  kg: Keygate,
  identity: Identity,
  id: string,
  param?: string,
): EntityObject {
  const entity = findEntity(kg.db, id);
  if (!entity) throw new KeygateError("resource_missing", `No such entity: ${id}.`, param);
  requireInSubtree(identity, entity.path, param);
  return entity;
}

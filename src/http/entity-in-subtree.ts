/** Resolving an entity a request names: it must exist and lie inside the caller's subtree. */
import type { Keygate } from "../app/keygate.ts";
import { type Identity, requireInSubtree } from "../auth/identity.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { type EntityObject, findEntity } from "../projections/queries.ts";

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

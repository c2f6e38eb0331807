/**
 * The objects a command-line argument names, or the error the CLI prints for one that does not
 * exist (exit 1) — also where the argument only filters a list: `keys list --entity ent_typo`
 * says there is no such entity rather than listing nothing, as `GET /v1/api-keys?entity_id=`
 * answers 404.
 */
import type { Keygate } from "../app/keygate.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import {
  type ApiKeyObject,
  type EntityObject,
  findApiKey,
  findEntity,
  findUser,
  type UserRecord,
} from "../projections/queries.ts";

/** The key with that id. */
export function existingKey(kg: Keygate, id: string): ApiKeyObject {
  const key = findApiKey(kg.db, id, kg.now());
  if (!key) throw new KeygateError("resource_missing", `No such API key: ${id}.`);
  return key;
}

/** The user with that id. */
export function existingUser(kg: Keygate, id: string): UserRecord {
  const user = findUser(kg.db, id);
  if (!user) throw new KeygateError("resource_missing", "No such user.");
  return user;
}

/** The entity with that id. */
export function existingEntity(kg: Keygate, id: string): EntityObject {
  const entity = findEntity(kg.db, id);
  if (!entity) throw new KeygateError("resource_missing", `No such entity: ${id}.`);
  return entity;
}

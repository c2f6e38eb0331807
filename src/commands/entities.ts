/** Command handlers for the entity tree: load state, decide, append. */
import { type EntityEvent, isEntityEvent } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import {
  decideEntity,
  type EntityCommand,
  type EntityKind,
  type EntityState,
  evolveEntity,
  initialEntityState,
} from "../entities/entity.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { newId } from "../ids/index.ts";
import {
  type EntityObject,
  findEntity,
  findPlatformEntity,
  siblingReferenceTaken,
} from "../projections/queries.ts";
import { STREAM_DOES_NOT_EXIST } from "../store/expected-version.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { type Aggregate, decideAndAppend } from "./aggregate.ts";

const entityAggregate: Aggregate<EntityCommand, EntityEvent, EntityState> = {
  isOwn: isEntityEvent,
  decide: decideEntity,
  evolve: evolveEntity,
  initialState: initialEntityState,
};

/** Input of {@link createEntity}. */
export interface CreateEntityInput {
  kind: EntityKind;
  name: string;
  /** Required for every kind but `platform`. */
  parentId: string | null;
  reference?: string | null;
}

/** Creates an entity under its parent and returns it. */
export function createEntity(
  kg: Keygate,
  input: CreateEntityInput,
  metadata: EventMetadata,
): EntityObject {
  const parent = input.parentId === null ? null : findEntity(kg.db, input.parentId);
  if (input.parentId !== null && !parent) {
    throw new KeygateError("resource_missing", `No such entity: ${input.parentId}.`, "parent_id");
  }
  const reference = input.reference ?? null;
  if (reference !== null && siblingReferenceTaken(kg.db, input.parentId, reference)) {
    throw new KeygateError(
      "resource_conflict",
      `Another child of ${input.parentId} already has reference "${reference}".`,
      "reference",
    );
  }
  const id = newId("ent");
  const command: EntityCommand = {
    type: "CreateEntity",
    id,
    kind: input.kind,
    name: input.name,
    reference,
    parent: parent ? { id: parent.id, kind: parent.kind, active: parent.active } : null,
    platformExists: findPlatformEntity(kg.db) !== undefined,
  };
  const events = decideEntity(command, initialEntityState);
  kg.store.appendToStream(id, events, { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata });
  return findEntity(kg.db, id) as EntityObject;
}

function changeEntity(
  kg: Keygate,
  id: string,
  command: EntityCommand,
  metadata: EventMetadata,
): EntityObject {
  decideAndAppend(kg, id, entityAggregate, command, metadata);
  return findEntity(kg.db, id) as EntityObject;
}

/**
 * Deactivates an entity, which locks out its whole subtree, on behalf of the entity `by` (the
 * caller's; `null` for the operator). Deactivating twice changes nothing, unless `by` stands
 * above whoever deactivated it: the lock is then `by`'s.
 */
export function deactivateEntity(
  kg: Keygate,
  id: string,
  by: string | null,
  metadata: EventMetadata,
): EntityObject {
  return changeEntity(kg, id, { type: "DeactivateEntity", by, path: pathOf(kg, id) }, metadata);
}

/**
 * Reactivates an entity on behalf of the entity `by` (`null` for the operator), which must be the
 * one that deactivated it or stand above it. Reactivating an active one changes nothing.
 */
export function reactivateEntity(
  kg: Keygate,
  id: string,
  by: string | null,
  metadata: EventMetadata,
): EntityObject {
  return changeEntity(kg, id, { type: "ReactivateEntity", by, path: pathOf(kg, id) }, metadata);
}

/**
 * Renames an entity or changes its reference (`null` removes it); its kind and place in the
 * tree never change. Fields it already has record nothing; a reference a sibling has is
 * `resource_conflict`.
 */
export function updateEntity(
  kg: Keygate,
  id: string,
  changes: { name?: string; reference?: string | null },
  metadata: EventMetadata,
): EntityObject {
  const { reference } = changes;
  const parentId = findEntity(kg.db, id)?.parent_id ?? null;
  const referenceTaken =
    typeof reference === "string" && siblingReferenceTaken(kg.db, parentId, reference);
  return changeEntity(kg, id, { type: "UpdateEntity", ...changes, referenceTaken }, metadata);
}

/** An entity's path, root first (empty for an unknown one, which the decider then refuses). */
function pathOf(kg: Keygate, id: string): string[] {
  return findEntity(kg.db, id)?.path ?? [];
}

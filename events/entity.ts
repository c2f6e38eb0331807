/**
 * Events of the entity aggregate: a node of the partner → merchant → branch tree.
 * Stream id: the entity id (`ent_…`).
 */
import { Type } from "@sinclair/typebox";
import { EntityId, Nullable } from "./common.ts";
import { defineEvent, type EventOf } from "./define.ts";

/** The kinds of node in the organisation tree. */
export const EntityKind = Type.Union([
  Type.Literal("platform"),
  Type.Literal("partner"),
  Type.Literal("merchant"),
  Type.Literal("branch"),
]);

const createdV1 = Type.Object(
  { entity_id: EntityId, kind: EntityKind, name: Type.String(), parent_id: Nullable(EntityId) },
  { additionalProperties: false },
);

/**
 * An entity joined the tree. Version 2 added `reference` (a caller-chosen reference unique
 * among siblings, e.g. Modulus's merchant_branch_reference_number); version 1 events read
 * as `reference: null`.
 */
export const EntityCreated = defineEvent(
  "entity.created",
  2,
  Type.Object(
    {
      entity_id: EntityId,
      kind: EntityKind,
      name: Type.String({ minLength: 1, maxLength: 200 }),
      parent_id: Nullable(EntityId),
      reference: Nullable(Type.String({ minLength: 1, maxLength: 100 })),
    },
    { additionalProperties: false },
  ),
  [{ version: 1, schema: createdV1, upcast: (data) => ({ ...data, reference: null }) }],
);

const deactivatedV1 = Type.Object({ entity_id: EntityId }, { additionalProperties: false });

/**
 * The entity (and so its whole subtree) was deactivated. Version 2 added `by_entity_id`, the
 * entity of the key that deactivated it; only that entity or one above it may undo it. `null`
 * is the operator (the CLI), who ranks with the platform. Version 1 events read as `null`: who
 * deactivated them is not in their data, so only the top of the tree may reactivate them.
 * Appended again, with a higher `by_entity_id`, when an entity above the one that deactivated
 * an inactive entity deactivates it too.
 */
export const EntityDeactivated = defineEvent(
  "entity.deactivated",
  2,
  Type.Object(
    { entity_id: EntityId, by_entity_id: Nullable(EntityId) },
    { additionalProperties: false },
  ),
  [{ version: 1, schema: deactivatedV1, upcast: (data) => ({ ...data, by_entity_id: null }) }],
);

/** The entity was reactivated; its subtree is active again where no other ancestor is inactive. */
export const EntityReactivated = defineEvent(
  "entity.reactivated",
  1,
  Type.Object({ entity_id: EntityId }, { additionalProperties: false }),
);

/**
 * The entity was renamed or given another reference (or none: `null`). Holds only the fields
 * that changed; its kind, parent and place in the tree never change.
 */
export const EntityUpdated = defineEvent(
  "entity.updated",
  1,
  Type.Object(
    {
      entity_id: EntityId,
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      reference: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
    },
    { additionalProperties: false },
  ),
);

/** Every entity event definition. */
export const entityEvents = [
  EntityCreated,
  EntityDeactivated,
  EntityReactivated,
  EntityUpdated,
] as const;

/** An entity event as the aggregate sees it. */
export type EntityEvent =
  | EventOf<typeof EntityCreated>
  | EventOf<typeof EntityDeactivated>
  | EventOf<typeof EntityReactivated>
  | EventOf<typeof EntityUpdated>;

/** Whether an event belongs to the entity aggregate. */
export function isEntityEvent(event: { type: string }): event is EntityEvent {
  return event.type.startsWith("entity.");
}

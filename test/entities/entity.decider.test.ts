import { describe, test } from "bun:test";
import type { EntityEvent } from "../../events/index.ts";
import {
  decideEntity,
  type EntityCommand,
  type EntityKind,
  evolveEntity,
  initialEntityState,
} from "../../src/entities/entity.ts";
import { deciderSpec } from "../support/given.ts";

const spec = deciderSpec({
  decide: decideEntity,
  evolve: evolveEntity,
  initialState: initialEntityState,
});

const create = (
  kind: EntityKind,
  parentKind: EntityKind | null,
  extra: Partial<EntityCommand> = {},
): EntityCommand =>
  ({
    type: "CreateEntity",
    id: "ent_new",
    kind,
    name: "Acme",
    reference: null,
    parent: parentKind ? { id: "ent_parent", kind: parentKind, active: true } : null,
    platformExists: kind !== "platform",
    ...extra,
  }) as EntityCommand;

const createdEvent = (kind: EntityKind, parentId: string | null): EntityEvent => ({
  type: "entity.created",
  data: { entity_id: "ent_new", kind, name: "Acme", parent_id: parentId, reference: null },
});
const merchant = createdEvent("merchant", "ent_parent");
const deactivated: EntityEvent = { type: "entity.deactivated", data: { entity_id: "ent_new" } };
const reactivated: EntityEvent = { type: "entity.reactivated", data: { entity_id: "ent_new" } };

describe("entity decider", () => {
  test("the tree: platform at the root, partner under platform, merchant under platform or partner, branch under merchant", () => {
    spec
      .given([])
      .when(create("platform", null))
      .then([createdEvent("platform", null)]);
    spec
      .given([])
      .when(create("partner", "platform"))
      .then([createdEvent("partner", "ent_parent")]);
    spec.given([]).when(create("merchant", "platform")).then([merchant]);
    spec.given([]).when(create("merchant", "partner")).then([merchant]);
    spec
      .given([])
      .when(create("branch", "merchant"))
      .then([createdEvent("branch", "ent_parent")]);
  });

  test("any other placement is refused", () => {
    spec
      .given([])
      .when(create("branch", "partner"))
      .thenThrows("invalid_request", /branch must sit under merchant/);
    spec.given([]).when(create("branch", "platform")).thenThrows("invalid_request");
    spec.given([]).when(create("partner", "merchant")).thenThrows("invalid_request");
    spec.given([]).when(create("merchant", null)).thenThrows("invalid_request");
    spec.given([]).when(create("platform", "platform")).thenThrows("invalid_request");
  });

  test("one platform per deployment; no child under an inactive parent", () => {
    spec
      .given([])
      .when(create("platform", null, { platformExists: true }))
      .thenThrows("resource_conflict");
    spec
      .given([])
      .when(
        create("merchant", "partner", {
          parent: { id: "ent_parent", kind: "partner", active: false },
        }),
      )
      .thenThrows("invalid_request", /inactive/);
  });

  test("deactivate once records, twice appends nothing; reactivate likewise", () => {
    spec.given([merchant]).when({ type: "DeactivateEntity" }).then([deactivated]);
    spec.given([merchant, deactivated]).when({ type: "DeactivateEntity" }).then([]);
    spec.given([merchant, deactivated]).when({ type: "ReactivateEntity" }).then([reactivated]);
    spec.given([merchant]).when({ type: "ReactivateEntity" }).then([]);
  });

  test("the platform cannot be deactivated; a missing entity is resource_missing", () => {
    spec
      .given([createdEvent("platform", null)])
      .when({ type: "DeactivateEntity" })
      .thenThrows("invalid_request", /platform/);
    spec.given([]).when({ type: "DeactivateEntity" }).thenThrows("resource_missing");
  });
});

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
/** The target's path in the tests of who may deactivate and reactivate: platform → partner → it. */
const PATH = ["ent_platform", "ent_parent", "ent_new"];

/** An update of the merchant; `referenceTaken`: a sibling has the reference asked for. */
const update = (changes: { name?: string; reference?: string | null }, referenceTaken = false) =>
  ({ type: "UpdateEntity", ...changes, referenceTaken }) as EntityCommand;
const updated = (data: { name?: string; reference?: string | null }): EntityEvent => ({
  type: "entity.updated",
  data: { entity_id: "ent_new", ...data },
});
const deactivatedBy = (by: string | null): EntityEvent => ({
  type: "entity.deactivated",
  data: { entity_id: "ent_new", by_entity_id: by },
});
const deactivated = deactivatedBy(null);
const as = (type: "DeactivateEntity" | "ReactivateEntity", by: string | null): EntityCommand => ({
  type,
  by,
  path: PATH,
});
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

  test("any other placement is refused, saying where the entity may sit", () => {
    const refusals: [EntityKind, EntityKind | null, string][] = [
      ["branch", "partner", "A branch must sit under a merchant, not a partner."],
      ["branch", "platform", "A branch must sit under a merchant, not the platform."],
      ["partner", "merchant", "A partner must sit under the platform, not a merchant."],
      ["merchant", null, "A merchant must sit under the platform or a partner."],
      ["platform", "platform", "The platform entity sits under no parent."],
    ];
    for (const [kind, parentKind, message] of refusals)
      spec.given([]).when(create(kind, parentKind)).thenThrows("invalid_request", message);
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
    spec.given([merchant]).when(as("DeactivateEntity", null)).then([deactivated]);
    spec.given([merchant, deactivated]).when(as("DeactivateEntity", null)).then([]);
    spec.given([merchant, deactivated]).when(as("ReactivateEntity", null)).then([reactivated]);
    spec.given([merchant]).when(as("ReactivateEntity", null)).then([]);
  });

  test("a deactivation records who made it; that entity or one above it may undo it, none below", () => {
    const byPartner = deactivatedBy("ent_parent");
    spec.given([merchant]).when(as("DeactivateEntity", "ent_parent")).then([byPartner]);
    spec
      .given([merchant, byPartner])
      .when(as("ReactivateEntity", "ent_parent"))
      .then([reactivated]);
    spec
      .given([merchant, byPartner])
      .when(as("ReactivateEntity", "ent_platform"))
      .then([reactivated]);
    spec.given([merchant, byPartner]).when(as("ReactivateEntity", null)).then([reactivated]);
    // The entity itself (a kill switch pulled by its own key) ranks below its parent.
    const bySelf = deactivatedBy("ent_new");
    spec.given([merchant, bySelf]).when(as("ReactivateEntity", "ent_parent")).then([reactivated]);
    spec
      .given([merchant, byPartner])
      .when(as("ReactivateEntity", "ent_new"))
      .thenThrows("entity_forbidden", /from above the caller's entity/);
    for (const top of ["ent_platform", null]) {
      spec
        .given([merchant, deactivatedBy(top)])
        .when(as("ReactivateEntity", "ent_parent"))
        .thenThrows("entity_forbidden");
    }
    // The operator (null) and the platform rank together.
    spec
      .given([merchant, deactivatedBy("ent_platform")])
      .when(as("ReactivateEntity", null))
      .then([reactivated]);
    spec
      .given([merchant, deactivated])
      .when(as("ReactivateEntity", "ent_platform"))
      .then([reactivated]);
  });

  test("deactivating an inactive entity from higher up takes the lock over; from the same level or below, nothing", () => {
    const byPartner = deactivatedBy("ent_parent");
    const byPlatform = deactivatedBy("ent_platform");
    spec
      .given([merchant, byPartner])
      .when(as("DeactivateEntity", "ent_platform"))
      .then([byPlatform]);
    spec
      .given([merchant, byPartner, byPlatform])
      .when(as("ReactivateEntity", "ent_parent"))
      .thenThrows("entity_forbidden");
    spec.given([merchant, byPartner]).when(as("DeactivateEntity", "ent_parent")).then([]);
    spec.given([merchant, byPlatform]).when(as("DeactivateEntity", "ent_parent")).then([]);
    spec.given([merchant, byPlatform]).when(as("DeactivateEntity", null)).then([]);
    // A reactivation clears who deactivated: the next deactivation is anyone's again.
    spec
      .given([merchant, byPlatform, reactivated])
      .when(as("DeactivateEntity", "ent_parent"))
      .then([byPartner]);
  });

  test("the platform cannot be deactivated; a missing entity is resource_missing", () => {
    spec
      .given([createdEvent("platform", null)])
      .when(as("DeactivateEntity", null))
      .thenThrows("invalid_request", /platform/);
    spec.given([]).when(as("DeactivateEntity", null)).thenThrows("resource_missing");
  });

  test("an update records only what changed: a trimmed name, a new reference or none; nothing changed appends nothing", () => {
    spec
      .given([merchant])
      .when(update({ name: "  Acme Retail " }))
      .then([updated({ name: "Acme Retail" })]);
    spec
      .given([merchant])
      .when(update({ name: "Acme", reference: "M-1" }))
      .then([updated({ reference: "M-1" })]);
    const referenced = updated({ reference: "M-1" });
    spec
      .given([merchant, referenced])
      .when(update({ reference: null }))
      .then([updated({ reference: null })]);
    spec
      .given([merchant, referenced])
      .when(update({ reference: "M-1" }, true))
      .then([]);
    spec
      .given([merchant])
      .when(update({ name: "Acme", reference: null }))
      .then([]);
    spec.given([merchant]).when(update({})).then([]);
    // An inactive entity may be renamed too.
    spec
      .given([
        merchant,
        { type: "entity.deactivated", data: { entity_id: "ent_new", by_entity_id: null } },
      ])
      .when(update({ name: "Closed" }))
      .then([updated({ name: "Closed" })]);
  });

  test("names and references are plain text, at creation as at update; a reference is 1–100 characters", () => {
    spec
      .given([])
      .when(create("merchant", "partner", { name: "Acme\u001b]0;pwned\u0007" }))
      .thenThrows("invalid_request", /name must be plain text/);
    spec
      .given([])
      .when(create("merchant", "partner", { reference: "M-\u202e1" }))
      .thenThrows("invalid_request", /reference must be plain text: .*U\+202E/);
    spec
      .given([])
      .when(create("merchant", "partner", { reference: "" }))
      .thenThrows("invalid_request", /reference must be 1–100/);
    spec
      .given([merchant])
      .when(update({ reference: "M\t1" }))
      .thenThrows("invalid_request", /reference must be plain text/);
    // Matched exactly: white space at its ends, or an invisible character, would not match
    // what a request names (a reference that looks like BR-77 and is not).
    for (const reference of [" BR-77", "BR-77 ", "\u00a0BR-77"])
      spec
        .given([merchant])
        .when(update({ reference }))
        .thenThrows("invalid_request", /reference must not begin or end with white space/);
    for (const [reference, code] of [
      ["BR-\u200b77", "200B"],
      ["BR-77\ufeff1", "FEFF"],
      ["BR\u00ad-77", "00AD"],
    ])
      spec
        .given([])
        .when(create("merchant", "partner", { reference }))
        .thenThrows(
          "invalid_request",
          new RegExp(`reference holds the invisible character U\\+${code}`),
        );
    spec
      .given([merchant])
      .when(update({ reference: "BR 77 / Ünter-Straße" }))
      .then([updated({ reference: "BR 77 / Ünter-Straße" })]);
    spec
      .given([merchant])
      .when(update({ name: "Acme\u0085" }))
      .thenThrows("invalid_request", /name must be plain text/);
  });

  test("an update is refused: a blank or long name, a reference a sibling has or of a bad length, a missing entity", () => {
    spec
      .given([merchant])
      .when(update({ name: "   " }))
      .thenThrows("invalid_request", /name/);
    spec
      .given([merchant])
      .when(update({ name: "x".repeat(201) }))
      .thenThrows("invalid_request", /name/);
    spec
      .given([merchant])
      .when(update({ reference: "M-2" }, true))
      .thenThrows("resource_conflict", /M-2/);
    spec
      .given([merchant])
      .when(update({ reference: "" }))
      .thenThrows("invalid_request", /reference/);
    spec
      .given([merchant])
      .when(update({ reference: "r".repeat(101) }))
      .thenThrows("invalid_request", /reference/);
    spec
      .given([])
      .when(update({ name: "x" }))
      .thenThrows("resource_missing");
  });
});

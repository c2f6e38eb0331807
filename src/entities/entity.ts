/**
 * The entity aggregate: a node of the platform → partner → merchant → branch tree.
 * Pure decide/evolve; whatever decide needs to know about other streams (the parent, whether
 * a platform exists) arrives in the command.
 */
import type { EntityEvent } from "../../events/index.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { checkName, codePoint, requirePlainText } from "../input/plain-text.ts";

/** The kinds of node. */
export type EntityKind = "platform" | "partner" | "merchant" | "branch";

/** Which kinds of parent each kind may have (`null` = the root). */
export const ALLOWED_PARENTS: Record<EntityKind, readonly (EntityKind | null)[]> = {
  platform: [null],
  partner: ["platform"],
  merchant: ["platform", "partner"],
  branch: ["merchant"],
};

/** An entity's state as its own stream tells it. */
export type EntityState =
  | { status: "new" }
  | {
      status: "existing";
      id: string;
      kind: EntityKind;
      parentId: string | null;
      name: string;
      reference: string | null;
      active: boolean;
      /** While inactive: the entity whose key deactivated it; `null` for the operator. */
      deactivatedBy: string | null;
    };

/** The state before the first event. */
export const initialEntityState: EntityState = { status: "new" };

/** What can be asked of an entity. */
export type EntityCommand =
  | {
      type: "CreateEntity";
      id: string;
      kind: EntityKind;
      name: string;
      reference: string | null;
      /** The parent's id, kind and effective active flag; null for the platform. */
      parent: { id: string; kind: EntityKind; active: boolean } | null;
      /** Whether the deployment already has its platform entity. */
      platformExists: boolean;
    }
  | ({ type: "DeactivateEntity" } & Acting)
  | ({ type: "ReactivateEntity" } & Acting)
  | {
      type: "UpdateEntity";
      name?: string;
      /** `null` removes the reference. */
      reference?: string | null;
      /** Whether a sibling already has the new reference. */
      referenceTaken: boolean;
    };

/** Who deactivates or reactivates an entity, and where it stands in the tree. */
interface Acting {
  /** The entity of the caller's key; `null` for the operator (the CLI). */
  by: string | null;
  /** The target entity's path, root first: the caller and whoever deactivated it lie on it. */
  path: readonly string[];
}

/**
 * How high an actor stands above an entity with `path`: 0 at the root, where the operator
 * (`null`) stands too. An entity off the path ranks below everything when it is the caller
 * (it never is: the routes check the subtree first) and at the top when it is whoever
 * deactivated (the cautious reading).
 */
function depthOf(actor: string | null, path: readonly string[], ifOffPath: number): number {
  if (actor === null) return 0;
  const depth = path.indexOf(actor);
  return depth === -1 ? ifOffPath : depth;
}

function existing(state: EntityState): Extract<EntityState, { status: "existing" }> {
  if (state.status !== "existing") throw new KeygateError("resource_missing", "No such entity.");
  return state;
}

/** An invisible character (`\p{Cf}`): a zero-width space or joiner, a soft hyphen, a BOM. */
const INVISIBLE = /\p{Cf}/u;

/**
 * A reference: 1–100 characters of plain text, or none. It is an identifier, matched exactly
 * (a gateway route selects a branch by it), so white space at its ends — which a request
 * naming `BR-77` would never match — and invisible characters, which would make a reference
 * look like a sibling's, are refused rather than kept.
 */
function checkReference(reference: string | null): string | null {
  if (reference === null) return null;
  if (reference.length === 0 || reference.length > 100)
    throw invalidRequest("reference must be 1–100 characters, or null.", "reference");
  requirePlainText(reference, "reference");
  if (reference.trim() !== reference)
    throw invalidRequest(
      "reference must not begin or end with white space: it is matched exactly, so a request naming it without the spaces would not find it.",
      "reference",
    );
  const invisible = INVISIBLE.exec(reference);
  if (invisible)
    throw invalidRequest(
      `reference holds the invisible character ${codePoint(invisible[0])}: it is matched exactly, and would look like a reference it does not match.`,
      "reference",
    );
  return reference;
}

/** Why an entity of `kind` cannot sit under a parent of `parentKind` (none: null). */
function misplaced(kind: EntityKind, parentKind: EntityKind | null): string {
  if (kind === "platform") return "The platform entity sits under no parent.";
  const named = (k: EntityKind | null) => (k === "platform" ? "the platform" : `a ${k}`);
  const allowed = ALLOWED_PARENTS[kind].map(named).join(" or ");
  const given = parentKind === null ? "" : `, not ${named(parentKind)}`;
  return `A ${kind} must sit under ${allowed}${given}.`;
}

/** Decides which events a command produces, or throws why it cannot. */
export function decideEntity(command: EntityCommand, state: EntityState): EntityEvent[] {
  switch (command.type) {
    case "CreateEntity": {
      if (state.status !== "new")
        throw new KeygateError("resource_conflict", "The entity already exists.");
      const parentKind = command.parent?.kind ?? null;
      if (!ALLOWED_PARENTS[command.kind].includes(parentKind)) {
        throw invalidRequest(misplaced(command.kind, parentKind), "parent_id");
      }
      if (command.kind === "platform" && command.platformExists) {
        throw new KeygateError(
          "resource_conflict",
          "This deployment already has its platform entity.",
        );
      }
      if (command.parent && !command.parent.active) {
        throw invalidRequest("The parent entity is inactive; reactivate it first.", "parent_id");
      }
      const name = checkName(command.name);
      return [
        {
          type: "entity.created",
          data: {
            entity_id: command.id,
            kind: command.kind,
            name,
            parent_id: command.parent?.id ?? null,
            reference: checkReference(command.reference),
          },
        },
      ];
    }
    case "DeactivateEntity": {
      const entity = existing(state);
      if (entity.kind === "platform") {
        throw invalidRequest(
          "The platform entity cannot be deactivated: it would lock out every key.",
        );
      }
      // Deactivating an inactive entity changes nothing, unless the caller stands above whoever
      // deactivated it: then the lock becomes the caller's, which those below cannot undo.
      const caller = depthOf(command.by, command.path, Number.POSITIVE_INFINITY);
      if (!entity.active && caller >= depthOf(entity.deactivatedBy, command.path, 0)) return [];
      return [
        { type: "entity.deactivated", data: { entity_id: entity.id, by_entity_id: command.by } },
      ];
    }
    case "ReactivateEntity": {
      const entity = existing(state);
      if (entity.active) return [];
      const caller = depthOf(command.by, command.path, Number.POSITIVE_INFINITY);
      if (caller > depthOf(entity.deactivatedBy, command.path, 0)) {
        throw new KeygateError(
          "entity_forbidden",
          "This entity was deactivated from above the caller's entity; only that entity, or one above it, can reactivate it.",
        );
      }
      return [{ type: "entity.reactivated", data: { entity_id: entity.id } }];
    }
    case "UpdateEntity": {
      const entity = existing(state);
      const data: Extract<EntityEvent, { type: "entity.updated" }>["data"] = {
        entity_id: entity.id,
      };
      if (command.name !== undefined) {
        const name = checkName(command.name);
        if (name !== entity.name) data.name = name;
      }
      const { reference } = command;
      if (reference !== undefined && reference !== entity.reference) {
        checkReference(reference);
        if (reference !== null && command.referenceTaken)
          throw new KeygateError(
            "resource_conflict",
            `Another child of the same parent already has reference "${reference}".`,
            "reference",
          );
        data.reference = reference;
      }
      return Object.keys(data).length > 1 ? [{ type: "entity.updated", data }] : [];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}

/** Applies one event to the state. */
export function evolveEntity(state: EntityState, event: EntityEvent): EntityState {
  switch (event.type) {
    case "entity.created":
      return {
        status: "existing",
        id: event.data.entity_id,
        kind: event.data.kind,
        parentId: event.data.parent_id,
        name: event.data.name,
        reference: event.data.reference,
        active: true,
        deactivatedBy: null,
      };
    case "entity.deactivated":
      return { ...existing(state), active: false, deactivatedBy: event.data.by_entity_id };
    case "entity.reactivated":
      return { ...existing(state), active: true, deactivatedBy: null };
    case "entity.updated": {
      const { name, reference } = event.data;
      return {
        ...existing(state),
        ...(name === undefined ? {} : { name }),
        ...(reference === undefined ? {} : { reference }),
      };
    }
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

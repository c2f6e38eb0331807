/** `keygate entities create|list|update|deactivate|reactivate`. */
import type { Keygate } from "../app/keygate.ts";
import {
  createEntity,
  deactivateEntity,
  reactivateEntity,
  updateEntity,
} from "../commands/entities.ts";
import type { EntityKind } from "../entities/entity.ts";
import { KeygateError } from "../errors/keygate-error.ts";
import { findEntity, findPlatformEntity, listEntities } from "../projections/queries.ts";
import { CLI_ACTOR, parseCommandArgs, required, UsageError } from "./args.ts";
import { existingEntity } from "./lookups.ts";
import { describeEntity, printList, report } from "./output.ts";

const KINDS: readonly string[] = ["partner", "merchant", "branch"];

/** Usage of the entities commands. */
export const ENTITIES_USAGE = `  entities create --kind partner|merchant|branch --name NAME [--parent ENT_ID] [--reference REF] [--json]
      (--parent defaults to the platform entity)
  entities list [--parent ENT_ID] [--json]
  entities update ENT_ID [--name NAME] [--reference REF | --no-reference] [--json]
  entities deactivate ENT_ID [--json]     locks out the entity's whole subtree
  entities reactivate ENT_ID [--json]`;

/** Runs one entities subcommand. */
export async function runEntities(
  kg: Keygate,
  sub: string | undefined,
  argv: string[],
): Promise<void> {
  switch (sub) {
    case "create": {
      const { values } = parseCommandArgs(argv, {
        kind: { type: "string" },
        name: { type: "string" },
        parent: { type: "string" },
        reference: { type: "string" },
      });
      const kind = required(values, "kind");
      if (!KINDS.includes(kind))
        throw new UsageError(`--kind must be partner, merchant or branch, not "${kind}"`);
      const parentId = values.parent ?? platformId(kg);
      const entity = createEntity(
        kg,
        {
          kind: kind as EntityKind,
          name: required(values, "name"),
          parentId,
          reference: values.reference ?? null,
        },
        CLI_ACTOR,
      );
      report(values.json === true, entity, [`Created ${describeEntity(entity)}`]);
      return;
    }
    case "list": {
      const { values } = parseCommandArgs(argv, { parent: { type: "string" } });
      if (values.parent !== undefined) existingEntity(kg, values.parent);
      const filter = values.parent === undefined ? {} : { parentId: values.parent };
      await printList(values.json === true, {
        page: (startingAfter, limit) => listEntities(kg.db, { ...filter, startingAfter, limit }),
        present: (entity) => entity,
        describe: describeEntity,
      });
      return;
    }
    case "update": {
      const { values, positional: id } = parseCommandArgs(
        argv,
        {
          name: { type: "string" },
          reference: { type: "string" },
          "no-reference": { type: "boolean" },
        },
        "entity id",
      );
      const { name, reference, "no-reference": noReference } = values;
      if (reference !== undefined && noReference)
        throw new UsageError("give at most one of --reference and --no-reference");
      if (name === undefined && reference === undefined && !noReference)
        throw new UsageError("entities update needs --name, --reference or --no-reference");
      const before = findEntity(kg.db, id);
      const entity = updateEntity(
        kg,
        id,
        {
          ...(name === undefined ? {} : { name }),
          ...(noReference ? { reference: null } : reference === undefined ? {} : { reference }),
        },
        CLI_ACTOR,
      );
      const changed = JSON.stringify(before) !== JSON.stringify(entity);
      report(values.json === true, entity, [
        `${changed ? "Updated" : "Unchanged"} ${describeEntity(entity)}`,
      ]);
      return;
    }
    case "deactivate":
    case "reactivate": {
      const { values, positional: id } = parseCommandArgs(argv, {}, "entity id");
      const entity =
        sub === "deactivate"
          ? deactivateEntity(kg, id, null, CLI_ACTOR)
          : reactivateEntity(kg, id, null, CLI_ACTOR);
      const verb = sub === "deactivate" ? "Deactivated" : "Reactivated";
      report(values.json === true, entity, [`${verb} ${describeEntity(entity)}`]);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown entities command "${sub}"` : "entities needs a command");
  }
}

function platformId(kg: Keygate): string {
  const platform = findPlatformEntity(kg.db);
  if (!platform) {
    throw new KeygateError("resource_missing", "No platform entity yet: run `keygate init` first.");
  }
  return platform.id;
}

/** `keygate init [--json]`: create the platform entity and its two platform keys. */
import type { Keygate } from "../app/keygate.ts";
import { checkpointKey } from "../audit/checkpoint-key.ts";
import { initPlatform } from "../commands/init.ts";
import { CLI_ACTOR } from "./args.ts";
import { printJson, say } from "./output.ts";

/** Runs init and prints what it did; used by `init` and by `serve` on an empty database. */
export function runInit(kg: Keygate, json: boolean): void {
  const result = initPlatform(kg, CLI_ACTOR);
  // The checkpoint signing key is made with the platform (issue 7), kept beside the database.
  checkpointKey(kg.config);
  if (json) {
    printJson(
      result.created
        ? { entity_id: result.entityId, keys: result.keys }
        : {
            entity_id: result.entityId,
            keys: null,
            message: "already initialised; nothing changed",
          },
    );
    return;
  }
  if (!result.created) {
    say(`Keygate is already initialised (platform entity ${result.entityId}); nothing changed.`);
    return;
  }
  say(`Created the platform entity ${result.entityId} and two platform keys holding "*".`);
  say("They are shown this once and never stored: keep them in a secret manager now.");
  say(`  live: ${result.keys.live}`);
  say(`  test: ${result.keys.test}`);
}

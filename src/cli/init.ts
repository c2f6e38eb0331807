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
  if (result.created) checkpointKey(kg.config, kg.db.sql);
  if (json) {
    printJson(
      result.created
        ? {
            entity_id: result.entityId,
            keys: result.keys,
            ...(result.publicKeys ? { public_keys: result.publicKeys } : {}),
          }
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
  const { keys, publicKeys } = result;
  if (!publicKeys) {
    say(`Created the platform entity ${result.entityId} and two platform keys holding "*".`);
    say("They are shown this once and never stored: keep them in a secret manager now.");
    say(`  live: ${keys.live}`);
    say(`  test: ${keys.test}`);
    return;
  }
  say(`Created the platform entity ${result.entityId} and two platform key pairs holding "*".`);
  say("Their secrets are shown this once and never stored: keep them in a secret manager now.");
  say("Each is public_key:secret, as HTTP Basic (curl -u) takes it:");
  say(`  live: ${publicKeys.live}:${keys.live}`);
  say(`  test: ${publicKeys.test}:${keys.test}`);
}

/**
 * `init`: create the platform entity and one live and one test platform key holding `*`,
 * atomically. On a database that already has its platform it changes nothing.
 */
import type { Keygate } from "../app/keygate.ts";
import { findPlatformEntity } from "../projections/queries.ts";
import { transactionOrCommitFailed } from "../store/commit-failed-error.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { createApiKey } from "./api-keys.ts";
import { createEntity } from "./entities.ts";

/** What {@link initPlatform} did. */
export type InitResult =
  | {
      created: true;
      entityId: string;
      /** The two platform keys' secrets. */
      keys: { live: string; test: string };
      /**
       * Their public keys, when the platform keys are pairs: where HTTP Basic is the only
       * scheme for keys (VoltzPay's), a secret key alone could call nothing.
       */
      publicKeys: { live: string; test: string } | null;
    }
  | { created: false; entityId: string };

/**
 * Creates the platform entity and its two `*` keys, unless they exist; a database's first keys
 * record the pepper they are hashed with (src/keys/pepper-check.ts).
 */
export function initPlatform(kg: Keygate, metadata: EventMetadata): InitResult {
  // One outer transaction: the three appends become savepoints of it, so a crash
  // leaves either everything or nothing, and a concurrent init waits and then finds it done.
  // A commit SQLite refuses (a full disk) says that nothing was changed, as an append's does.
  const result = transactionOrCommitFailed(kg.db.sql, (): InitResult => {
    const existing = findPlatformEntity(kg.db);
    if (existing) return { created: false, entityId: existing.id };
    const platform = createEntity(
      kg,
      { kind: "platform", name: "Platform", parentId: null },
      metadata,
    );
    const key = (environment: "live" | "test") =>
      createApiKey(
        kg,
        { entityId: platform.id, environment, name: `platform ${environment}`, scopes: ["*"] },
        metadata,
      );
    const live = key("live");
    const test = key("test");
    return {
      created: true,
      entityId: platform.id,
      keys: { live: live.secret, test: test.secret },
      publicKeys:
        live.public_key && test.public_key
          ? { live: live.public_key, test: test.public_key }
          : null,
    };
  });
  if (result.created) kg.pepper.record(kg.now());
  return result;
}

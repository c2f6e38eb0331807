/** A real database file with a short history and a signed checkpoint, for audit tests. */
import { join } from "node:path";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import {
  createApiKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { FakeClock, testKeygate } from "../support/keygate.ts";

const BY = { actor: "test", request_id: null };

/** Builds `dir/<name>.sqlite` with 9 events and a checkpoint covering all of them. */
export function historyDatabase(dir: string, name: string, options: { checkpoint?: boolean } = {}) {
  const path = join(dir, `${name}.sqlite`);
  const clock = new FakeClock();
  const kg = testKeygate({ path, clock });
  const init = initPlatform(kg, BY);
  if (!init.created) throw new Error("expected a fresh database");
  const merchant = createEntity(
    kg,
    { kind: "merchant", name: "Shop", parentId: init.entityId },
    BY,
  );
  const key = createApiKey(
    kg,
    { entityId: merchant.id, environment: "live", name: "billing", scopes: ["links:read"] },
    BY,
  );
  clock.advance(60);
  updateApiKey(kg, key.id, { scopes: ["links:read", "links:write"] }, BY);
  rotateApiKey(kg, key.id, 0, BY);
  revokeApiKey(kg, key.id, "rotated out", BY);
  const events = kg.store.headPosition();
  if (options.checkpoint !== false)
    appendCheckpoint(kg.db.sql, checkpointKey(kg.config), clock.now());
  const config = kg.config;
  kg.close();
  return { path, config, keyId: key.id, events };
}

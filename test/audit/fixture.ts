/** A real database file holding the shared test history and a signed checkpoint, for audit tests. */
import { join } from "node:path";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { revokeApiKey } from "../../src/commands/api-keys.ts";
import { buildHistory } from "../support/history.ts";
import { FakeClock, TEST_ACTOR, testKeygate } from "../support/keygate.ts";

/**
 * Builds `dir/<name>.sqlite` with {@link buildHistory}'s events, then ends the `billing` key's
 * life (created, updated, rotated, revoked) and signs a checkpoint covering everything.
 */
export async function historyDatabase(
  dir: string,
  name: string,
  options: { checkpoint?: boolean } = {},
) {
  const path = join(dir, `${name}.sqlite`);
  const clock = new FakeClock();
  const kg = testKeygate({ path, clock });
  const { secretKey } = await buildHistory(kg, clock);
  revokeApiKey(kg, secretKey.id, "rotated out", TEST_ACTOR);
  const events = kg.store.headPosition();
  if (options.checkpoint !== false)
    appendCheckpoint(kg.db.sql, checkpointKey(kg.config, kg.db.sql), clock.now());
  kg.close();
  return { path, keyId: secretKey.id, events };
}

/** Builds a realistic history through the real command handlers, for projection tests. */
import type { Keygate } from "../../src/app/keygate.ts";
import {
  createApiKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from "../../src/commands/api-keys.ts";
import {
  createEntity,
  deactivateEntity,
  reactivateEntity,
  updateEntity,
} from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { changeEmail, changePassword, deactivateUser } from "../../src/commands/users.ts";
import type { FakeClock } from "./keygate.ts";
import { givenUser, TEST_ACTOR, TEST_SCRYPT_COST } from "./keygate.ts";

/** Creates a partner → merchant → branch tree, keys of every kind, renames, rotations, revocations, users, a password and an email change. */
export async function buildHistory(kg: Keygate, clock: FakeClock) {
  const init = initPlatform(kg, TEST_ACTOR);
  if (!init.created) throw new Error("expected a fresh database");
  const partner = createEntity(
    kg,
    { kind: "partner", name: "Partner", parentId: init.entityId },
    TEST_ACTOR,
  );
  const merchant = createEntity(
    kg,
    { kind: "merchant", name: "Merchant", parentId: partner.id, reference: "M-1" },
    TEST_ACTOR,
  );
  const branch = createEntity(
    kg,
    { kind: "branch", name: "Branch", parentId: merchant.id, reference: "BR-001" },
    TEST_ACTOR,
  );
  clock.advance(10);
  updateEntity(kg, branch.id, { name: "Branch (renamed)", reference: "BR-002" }, TEST_ACTOR);
  updateEntity(kg, merchant.id, { reference: null }, TEST_ACTOR);
  const secretKey = createApiKey(
    kg,
    { entityId: merchant.id, environment: "live", name: "billing", scopes: ["links:read"] },
    TEST_ACTOR,
  );
  const pair = createApiKey(
    kg,
    {
      entityId: branch.id,
      environment: "test",
      name: "pos",
      scopes: ["sessions:write"],
      kind: "pair",
      rateLimit: { limit: 60, window_seconds: 60 },
    },
    TEST_ACTOR,
  );
  clock.advance(10);
  updateApiKey(
    kg,
    secretKey.id,
    { name: "billing v2", scopes: ["links:read", "links:write"] },
    TEST_ACTOR,
  );
  const rotated = rotateApiKey(kg, secretKey.id, 3600, TEST_ACTOR);
  const rotatedPair = rotateApiKey(kg, pair.id, 0, TEST_ACTOR);
  const doomed = createApiKey(
    kg,
    { entityId: partner.id, environment: "live", name: "old", scopes: ["*"] },
    TEST_ACTOR,
  );
  revokeApiKey(kg, doomed.id, "compromised", TEST_ACTOR);
  clock.advance(10);
  deactivateEntity(kg, merchant.id, null, TEST_ACTOR);
  deactivateEntity(kg, partner.id, null, TEST_ACTOR);
  reactivateEntity(kg, partner.id, null, TEST_ACTOR);
  const user = await givenUser(kg, {
    email: "ops@example.com",
    password: "long enough password",
    entityId: partner.id,
  });
  const former = await givenUser(kg, {
    email: "former@example.com",
    password: "another long password",
    entityId: merchant.id,
  });
  deactivateUser(kg, former.id, TEST_ACTOR);
  // The former user's email moves, and its old one goes to a new user: a rebuild must apply
  // the two in log order for the unique email index to take them.
  changeEmail(kg, former.id, "former.left@example.com", TEST_ACTOR);
  await givenUser(kg, {
    email: "former@example.com",
    password: "a successor's password",
    entityId: merchant.id,
  });
  clock.advance(10);
  await changePassword(
    kg,
    user.id,
    { value: "a changed long password", field: "password" },
    TEST_ACTOR,
    TEST_SCRYPT_COST,
  );
  return { init, partner, merchant, branch, secretKey, pair, rotated, rotatedPair, doomed, user };
}

/** Every row of every projection table, ordered, for row-for-row comparison. */
export function dumpProjections(kg: Keygate): Record<string, unknown[]> {
  const tables = ["entities", "api_keys", "api_key_secrets", "users"];
  return Object.fromEntries(
    tables.map((t) => [t, kg.db.sql.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()]),
  );
}

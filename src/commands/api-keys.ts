/**
 * Command handlers for API keys. Secrets are generated here, hashed at once, and returned
 * to the caller exactly once; only hashes and display forms go into events.
 */
import { type ApiKeyEvent, isApiKeyEvent } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { newId } from "../ids/index.ts";
import {
  type ApiKeyCommand,
  type ApiKeyState,
  decideApiKey,
  evolveApiKey,
  initialApiKeyState,
  type RateLimitSetting,
  type SecretMaterial,
} from "../keys/api-key.ts";
import { displayPrefix, type Environment, generateKey, maskKey } from "../keys/key-format.ts";
import { hashPairSecret, hashSecretKey, newSalt } from "../keys/secret-hash.ts";
import { type ApiKeyObject, findApiKey, findEntity } from "../projections/queries.ts";
import { STREAM_DOES_NOT_EXIST } from "../store/expected-version.ts";
import type { EventMetadata } from "../store/recorded-event.ts";
import { type Aggregate, decideAndAppend, loadAggregate } from "./aggregate.ts";

/** A key as returned by create and rotate: the object plus its secret, shown this once. */
export type ApiKeyWithSecret = ApiKeyObject & { secret: string };

/** Input of {@link createApiKey}. */
export interface CreateApiKeyInput {
  entityId: string;
  environment: Environment;
  name: string;
  scopes: readonly string[];
  kind?: "secret" | "pair";
  rateLimit?: RateLimitSetting | null;
  expiresAt?: Date | null;
}

function newSecret(
  kg: Keygate,
  environment: Environment,
  kind: "secret" | "pair",
  publicKey: string | null,
) {
  // A secret hashed under another pepper than the database's would work nowhere else.
  kg.pepper.require();
  const { secretPrefix, pepper } = kg.config.keys;
  const secret = generateKey(secretPrefix, environment);
  const salt = kind === "pair" ? newSalt() : null;
  const material: SecretMaterial = {
    prefix: displayPrefix(secret),
    masked: maskKey(secret),
    publicKey,
    secretHash:
      salt === null ? hashSecretKey(secret, pepper) : hashPairSecret(secret, salt, pepper),
    salt,
  };
  return { secret, material };
}

const apiKeyAggregate: Aggregate<ApiKeyCommand, ApiKeyEvent, ApiKeyState> = {
  isOwn: isApiKeyEvent,
  decide: decideApiKey,
  evolve: evolveApiKey,
  initialState: initialApiKeyState,
};

function current(kg: Keygate, id: string): ApiKeyObject {
  return findApiKey(kg.db, id, kg.now()) as ApiKeyObject;
}

/**
 * The kind of a key made without one asked for: a secret key, unless no scheme takes a secret
 * key on its own (HTTP Basic only, as VoltzPay's): then a pair, which can authenticate.
 */
function defaultKind(kg: Keygate): "secret" | "pair" {
  const { bearer, apiKeyHeader } = kg.config.auth;
  return bearer || apiKeyHeader ? "secret" : "pair";
}

/**
 * Issues a key (or key pair) for an entity and returns it with its secret. Without a `kind`,
 * it makes the kind the configured schemes accept ({@link defaultKind}).
 */
export function createApiKey(
  kg: Keygate,
  input: CreateApiKeyInput,
  metadata: EventMetadata,
): ApiKeyWithSecret {
  const entity = findEntity(kg.db, input.entityId);
  if (!entity)
    throw new KeygateError("resource_missing", `No such entity: ${input.entityId}.`, "entity_id");
  if (!entity.active)
    throw invalidRequest(`Entity ${entity.id} is inactive; reactivate it first.`, "entity_id");
  const kind = input.kind ?? defaultKind(kg);
  const publicKey =
    kind === "pair" ? generateKey(kg.config.keys.publicPrefix, input.environment) : null;
  const { secret, material } = newSecret(kg, input.environment, kind, publicKey);
  const id = newId("key");
  const command: ApiKeyCommand = {
    type: "CreateApiKey",
    id,
    entityId: entity.id,
    environment: input.environment,
    kind,
    name: input.name,
    scopes: input.scopes,
    rateLimit: input.rateLimit ?? null,
    expiresAt: input.expiresAt ?? null,
    secret: material,
    now: kg.now(),
  };
  kg.store.appendToStream(id, decideApiKey(command, initialApiKeyState), {
    expectedStreamVersion: STREAM_DOES_NOT_EXIST,
    metadata,
  });
  return { ...current(kg, id), secret };
}

/** Changes a key's name, scopes or rate limit; unchanged fields record nothing. */
export function updateApiKey(
  kg: Keygate,
  id: string,
  changes: { name?: string; scopes?: readonly string[]; rateLimit?: RateLimitSetting | null },
  metadata: EventMetadata,
): ApiKeyObject {
  decideAndAppend(kg, id, apiKeyAggregate, { type: "UpdateApiKey", ...changes }, metadata);
  return current(kg, id);
}

/**
 * Gives a key a new secret, keeping its id. `expirePreviousInSeconds` = 0 kills the old
 * secret at once; > 0 lets both work until then.
 */
export function rotateApiKey(
  kg: Keygate,
  id: string,
  expirePreviousInSeconds: number,
  metadata: EventMetadata,
): ApiKeyWithSecret {
  const loaded = loadAggregate(kg, id, apiKeyAggregate);
  const { state } = loaded;
  if (state.status === "new") throw new KeygateError("resource_missing", `No such API key: ${id}.`);
  const publicKey = state.kind === "pair" ? current(kg, id).public_key : null;
  const { secret, material } = newSecret(kg, state.environment, state.kind, publicKey);
  decideAndAppend(
    kg,
    id,
    apiKeyAggregate,
    { type: "RotateApiKey", secret: material, expirePreviousInSeconds, now: kg.now() },
    metadata,
    loaded,
  );
  return { ...current(kg, id), secret };
}

/** Revokes a key; every secret it has stops working at once. Revoking twice is not an error. */
export function revokeApiKey(
  kg: Keygate,
  id: string,
  reason: string | null,
  metadata: EventMetadata,
): ApiKeyObject {
  decideAndAppend(kg, id, apiKeyAggregate, { type: "RevokeApiKey", reason }, metadata);
  return current(kg, id);
}

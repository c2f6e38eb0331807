/**
 * Events of the API key aggregate. Stream id: the key id (`key_…`).
 * No event ever holds a raw secret: only its SHA-256 (or HMAC / salted) hash.
 */
import { Type } from "@sinclair/typebox";
import { EntityId, Nullable, Sha256Hex, Timestamp } from "./common.ts";
import { defineEvent, type EventOf } from "./define.ts";

const KeyId = Type.String({ pattern: "^key_[0-9A-Za-z]+$" });

/** `resource:action`, `resource:*` or `*`. */
export const Scope = Type.String({
  pattern: "^(\\*|[a-z][a-z0-9_]*:(\\*|[a-z][a-z0-9_]*))$",
  description: "a scope: resource:action in lowercase (links:read), resource:* or *",
});

/** A per-key rate limit: `limit` requests per `window_seconds`. */
export const RateLimit = Type.Object(
  {
    limit: Type.Integer({ minimum: 1 }),
    window_seconds: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

const Salt = Type.String({ pattern: "^[0-9a-f]{32}$" });

/** A key was issued. For a key pair, `public_key` names it and `salt` salts the secret's hash. */
export const ApiKeyCreated = defineEvent(
  "api_key.created",
  1,
  Type.Object(
    {
      key_id: KeyId,
      entity_id: EntityId,
      environment: Type.Union([Type.Literal("live"), Type.Literal("test")]),
      kind: Type.Union([Type.Literal("secret"), Type.Literal("pair")]),
      name: Type.String({ minLength: 1, maxLength: 200 }),
      scopes: Type.Array(Scope),
      prefix: Type.String(),
      masked: Type.String(),
      public_key: Nullable(Type.String()),
      secret_hash: Sha256Hex,
      salt: Nullable(Salt),
      rate_limit: Nullable(RateLimit),
      expires_at: Nullable(Timestamp),
    },
    { additionalProperties: false },
  ),
);

/** Name, scopes or rate limit changed; only the fields present changed. */
export const ApiKeyUpdated = defineEvent(
  "api_key.updated",
  1,
  Type.Object(
    {
      key_id: KeyId,
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      scopes: Type.Optional(Type.Array(Scope)),
      rate_limit: Type.Optional(Nullable(RateLimit)),
    },
    { additionalProperties: false },
  ),
);

/**
 * A new secret replaced the current one. The key id stays. Every earlier secret stops
 * working at `previous_expires_at` (the rotation time itself for an immediate rotation),
 * or earlier if it was already due to.
 */
export const ApiKeyRotated = defineEvent(
  "api_key.rotated",
  1,
  Type.Object(
    {
      key_id: KeyId,
      prefix: Type.String(),
      masked: Type.String(),
      secret_hash: Sha256Hex,
      salt: Nullable(Salt),
      previous_secret_hash: Sha256Hex,
      previous_expires_at: Timestamp,
    },
    { additionalProperties: false },
  ),
);

/** The key was revoked; every one of its secrets stops working at once. */
export const ApiKeyRevoked = defineEvent(
  "api_key.revoked",
  1,
  Type.Object(
    { key_id: KeyId, reason: Nullable(Type.String({ maxLength: 500 })) },
    { additionalProperties: false },
  ),
);

/** Every API key event definition. */
export const apiKeyEvents = [ApiKeyCreated, ApiKeyUpdated, ApiKeyRotated, ApiKeyRevoked] as const;

/** An API key event as the aggregate sees it. */
export type ApiKeyEvent =
  | EventOf<typeof ApiKeyCreated>
  | EventOf<typeof ApiKeyUpdated>
  | EventOf<typeof ApiKeyRotated>
  | EventOf<typeof ApiKeyRevoked>;

/** Whether an event belongs to the API key aggregate. */
export function isApiKeyEvent(event: { type: string }): event is ApiKeyEvent {
  return event.type.startsWith("api_key.");
}

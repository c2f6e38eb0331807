/**
 * Events of idempotent results (SPEC §5). Stream id: `idempotency:{entity}:{scope}:{key}` —
 * one stream per Idempotency-Key per entity and environment; a key used again after its
 * result expired appends a second result to the same stream.
 *
 * The response itself is never in the log in plaintext: `sealed` is AES-256-GCM under a
 * data key of its own (`data_key_id`) that lives outside the log and is destroyed when the
 * result expires, so the chain stays verifiable forever while the content becomes
 * unreadable after the window.
 */
import { Type } from "@sinclair/typebox";
import { EntityId, Sha256Hex, Timestamp } from "./common.ts";
import { defineEvent, type EventOf } from "./define.ts";

/** Where a result may be replayed: an API key's environment, or `dashboard` for users' JWTs. */
export const IdempotencyScope = Type.Union([
  Type.Literal("live"),
  Type.Literal("test"),
  Type.Literal("dashboard"),
]);

/** A handler's response was recorded for an Idempotency-Key before it was sent. */
export const IdempotencyResultRecorded = defineEvent(
  "idempotency.recorded",
  1,
  Type.Object(
    {
      idempotency_key: Type.String({ minLength: 1, maxLength: 255 }),
      entity_id: EntityId,
      scope: IdempotencyScope,
      /** SHA-256 of method, path with query and the SHA-256 of the body. */
      fingerprint: Sha256Hex,
      expires_at: Timestamp,
      data_key_id: Type.String({ pattern: "^dk_[0-9A-Za-z]+$" }),
      /** base64 of IV (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes). */
      sealed: Type.String({ pattern: "^[A-Za-z0-9+/]+={0,2}$" }),
    },
    { additionalProperties: false },
  ),
);

/** Every idempotency event definition. */
export const idempotencyEvents = [IdempotencyResultRecorded] as const;

/** An idempotency event. */
export type IdempotencyEvent = EventOf<typeof IdempotencyResultRecorded>;

/**
 * The API key aggregate. Pure decide/evolve: the command handler generates the secret and
 * passes only its hash and display forms in, so nothing here can leak a raw secret.
 *
 * Invariants: a revoked key cannot be updated or rotated; revoking twice appends nothing;
 * rotation keeps the key id and may keep the previous secret working for a while.
 */
import type { ApiKeyEvent } from "../../events/index.ts";
import { invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { checkName, requirePlainText } from "../input/plain-text.ts";
import type { Environment } from "./key-format.ts";
import { findMalformedScope, normaliseScopes } from "./scopes.ts";

/** A key's own rate limit. */
export interface RateLimitSetting {
  limit: number;
  window_seconds: number;
}

/** What the handler derived from a freshly generated secret. */
export interface SecretMaterial {
  prefix: string;
  masked: string;
  publicKey: string | null;
  secretHash: string;
  salt: string | null;
}

/** The longest overlap a rotation may grant the previous secret: 30 days. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600;

/** A key's state as its stream tells it. */
export type ApiKeyState =
  | { status: "new" }
  | {
      status: "active" | "revoked";
      id: string;
      entityId: string;
      environment: Environment;
      kind: "secret" | "pair";
      name: string;
      scopes: string[];
      rateLimit: RateLimitSetting | null;
      expiresAt: string | null;
      currentSecretHash: string;
    };

/** The state before the first event. */
export const initialApiKeyState: ApiKeyState = { status: "new" };

/** What can be asked of a key. */
export type ApiKeyCommand =
  | {
      type: "CreateApiKey";
      id: string;
      entityId: string;
      environment: Environment;
      kind: "secret" | "pair";
      name: string;
      scopes: readonly string[];
      rateLimit: RateLimitSetting | null;
      expiresAt: Date | null;
      secret: SecretMaterial;
      now: Date;
    }
  | {
      type: "UpdateApiKey";
      name?: string;
      scopes?: readonly string[];
      rateLimit?: RateLimitSetting | null;
    }
  | { type: "RotateApiKey"; secret: SecretMaterial; expirePreviousInSeconds: number; now: Date }
  | { type: "RevokeApiKey"; reason: string | null };

/** A revocation's reason: at most 500 characters of plain text. */
function checkReason(reason: string | null): string | null {
  if (reason === null) return null;
  if (reason.length > 500) throw invalidRequest("reason must be at most 500 characters.", "reason");
  return requirePlainText(reason, "reason");
}

function checkScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0) throw invalidRequest("scopes must hold at least one scope.", "scopes");
  const bad = findMalformedScope(scopes);
  if (bad) {
    throw invalidRequest(
      `"${bad.scope}" is not a scope: use resource:action in lowercase (links:read), resource:* or *.`,
      `scopes[${bad.index}]`,
    );
  }
  return normaliseScopes(scopes);
}

function checkRateLimit(rateLimit: RateLimitSetting | null): RateLimitSetting | null {
  if (rateLimit === null) return null;
  const { limit, window_seconds } = rateLimit;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw invalidRequest("rate_limit.limit must be a positive integer.", "rate_limit.limit");
  if (!Number.isSafeInteger(window_seconds) || window_seconds < 1 || window_seconds > 86400) {
    throw invalidRequest(
      "rate_limit.window_seconds must be an integer from 1 to 86400.",
      "rate_limit.window_seconds",
    );
  }
  return { limit, window_seconds };
}

function existing(state: ApiKeyState): Exclude<ApiKeyState, { status: "new" }> {
  if (state.status === "new") throw new KeygateError("resource_missing", "No such API key.");
  return state;
}

function mutable(state: ApiKeyState, action: string): Exclude<ApiKeyState, { status: "new" }> {
  const key = existing(state);
  if (key.status === "revoked") throw invalidRequest(`A revoked API key cannot be ${action}.`);
  return key;
}

const sameScopes = (a: readonly string[], b: readonly string[]) => a.join(" ") === b.join(" ");
/** Whether two own limits are the same (null: none). */
export const sameRateLimit = (a: RateLimitSetting | null, b: RateLimitSetting | null) =>
  a?.limit === b?.limit && a?.window_seconds === b?.window_seconds;

/** Decides which events a command produces, or throws why it cannot. */
export function decideApiKey(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
  switch (command.type) {
    case "CreateApiKey": {
      if (state.status !== "new")
        throw new KeygateError("resource_conflict", "The API key already exists.");
      if (command.expiresAt && command.expiresAt.getTime() <= command.now.getTime()) {
        throw invalidRequest("expires_at must be in the future.", "expires_at");
      }
      if ((command.kind === "pair") !== (command.secret.publicKey !== null)) {
        throw new Error("a key pair needs a public key, and only a key pair has one");
      }
      return [
        {
          type: "api_key.created",
          data: {
            key_id: command.id,
            entity_id: command.entityId,
            environment: command.environment,
            kind: command.kind,
            name: checkName(command.name),
            scopes: checkScopes(command.scopes),
            prefix: command.secret.prefix,
            masked: command.secret.masked,
            public_key: command.secret.publicKey,
            secret_hash: command.secret.secretHash,
            salt: command.secret.salt,
            rate_limit: checkRateLimit(command.rateLimit),
            expires_at: command.expiresAt?.toISOString() ?? null,
          },
        },
      ];
    }
    case "UpdateApiKey": {
      const key = mutable(state, "updated");
      const data: Extract<ApiKeyEvent, { type: "api_key.updated" }>["data"] = { key_id: key.id };
      if (command.name !== undefined) {
        const name = checkName(command.name);
        if (name !== key.name) data.name = name;
      }
      if (command.scopes !== undefined) {
        const scopes = checkScopes(command.scopes);
        if (!sameScopes(scopes, key.scopes)) data.scopes = scopes;
      }
      if (command.rateLimit !== undefined) {
        const rateLimit = checkRateLimit(command.rateLimit);
        if (!sameRateLimit(rateLimit, key.rateLimit)) data.rate_limit = rateLimit;
      }
      return Object.keys(data).length > 1 ? [{ type: "api_key.updated", data }] : [];
    }
    case "RotateApiKey": {
      const key = mutable(state, "rotated");
      if (key.expiresAt && key.expiresAt <= command.now.toISOString()) {
        throw invalidRequest("An expired API key cannot be rotated; create a new one.");
      }
      const overlap = command.expirePreviousInSeconds;
      if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap > MAX_ROTATION_OVERLAP_SECONDS) {
        throw invalidRequest(
          `expire_previous_in must be an integer from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} seconds.`,
          "expire_previous_in",
        );
      }
      return [
        {
          type: "api_key.rotated",
          data: {
            key_id: key.id,
            prefix: command.secret.prefix,
            masked: command.secret.masked,
            secret_hash: command.secret.secretHash,
            salt: command.secret.salt,
            previous_secret_hash: key.currentSecretHash,
            previous_expires_at: new Date(command.now.getTime() + overlap * 1000).toISOString(),
          },
        },
      ];
    }
    case "RevokeApiKey": {
      const key = existing(state);
      return key.status === "revoked"
        ? []
        : [
            {
              type: "api_key.revoked",
              data: { key_id: key.id, reason: checkReason(command.reason) },
            },
          ];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
}

/** Applies one event to the state. */
export function evolveApiKey(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  switch (event.type) {
    case "api_key.created": {
      const d = event.data;
      return {
        status: "active",
        id: d.key_id,
        entityId: d.entity_id,
        environment: d.environment,
        kind: d.kind,
        name: d.name,
        scopes: d.scopes,
        rateLimit: d.rate_limit,
        expiresAt: d.expires_at,
        currentSecretHash: d.secret_hash,
      };
    }
    case "api_key.updated": {
      const key = existing(state);
      return {
        ...key,
        name: event.data.name ?? key.name,
        scopes: event.data.scopes ?? key.scopes,
        rateLimit: event.data.rate_limit === undefined ? key.rateLimit : event.data.rate_limit,
      };
    }
    case "api_key.rotated":
      return { ...existing(state), currentSecretHash: event.data.secret_hash };
    case "api_key.revoked":
      return { ...existing(state), status: "revoked" };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

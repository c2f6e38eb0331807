import { describe, test } from "bun:test";
import type { ApiKeyEvent } from "../../events/index.ts";
import {
  type ApiKeyCommand,
  decideApiKey,
  evolveApiKey,
  initialApiKeyState,
  type SecretMaterial,
} from "../../src/keys/api-key.ts";
import { deciderSpec } from "../support/given.ts";

const spec = deciderSpec({
  decide: decideApiKey,
  evolve: evolveApiKey,
  initialState: initialApiKeyState,
});
const now = new Date("2026-03-01T12:00:00.000Z");
const h = (c: string) => c.repeat(64);
const material = (hash: string): SecretMaterial => ({
  prefix: "sk_live_Ab12Cd34",
  masked: "sk_live_••••wxyz",
  publicKey: null,
  secretHash: hash,
  salt: null,
});

const create: Extract<ApiKeyCommand, { type: "CreateApiKey" }> = {
  type: "CreateApiKey",
  id: "key_1",
  entityId: "ent_1",
  environment: "live",
  kind: "secret",
  name: " billing ",
  scopes: ["links:write", "links:read", "links:read"],
  rateLimit: null,
  expiresAt: null,
  secret: material(h("a")),
  now,
};
const created: ApiKeyEvent = {
  type: "api_key.created",
  data: {
    key_id: "key_1",
    entity_id: "ent_1",
    environment: "live",
    kind: "secret",
    name: "billing",
    scopes: ["links:read", "links:write"],
    prefix: "sk_live_Ab12Cd34",
    masked: "sk_live_••••wxyz",
    public_key: null,
    secret_hash: h("a"),
    salt: null,
    rate_limit: null,
    expires_at: null,
  },
};
const revoked: ApiKeyEvent = { type: "api_key.revoked", data: { key_id: "key_1", reason: null } };

describe("API key decider", () => {
  test("create: trims the name, sorts and de-duplicates scopes", () => {
    spec.given([]).when(create).then([created]);
  });

  test("create: malformed scopes name the offending entry", () => {
    spec
      .given([])
      .when({ ...create, scopes: ["links:read", "links"] })
      .thenThrows("invalid_request", /"links" is not a scope/);
    spec
      .given([])
      .when({ ...create, scopes: ["Links:Read"] })
      .thenThrows("invalid_request", /"Links:Read"/);
    spec
      .given([])
      .when({ ...create, scopes: [] })
      .thenThrows("invalid_request", /at least one scope/);
  });

  test("create: a past expiry, an empty name or a bad rate limit is refused", () => {
    spec
      .given([])
      .when({ ...create, expiresAt: new Date(now.getTime() - 1) })
      .thenThrows("invalid_request", /future/);
    spec
      .given([])
      .when({ ...create, name: "  " })
      .thenThrows("invalid_request", /name/);
    spec
      .given([])
      .when({ ...create, rateLimit: { limit: 0, window_seconds: 1 } })
      .thenThrows("invalid_request", /limit/);
  });

  test("create: an existing key cannot be created again", () => {
    spec.given([created]).when(create).thenThrows("resource_conflict");
  });

  test("update: records only the fields that change", () => {
    spec
      .given([created])
      .when({
        type: "UpdateApiKey",
        name: "billing",
        scopes: ["links:read"],
        rateLimit: { limit: 5, window_seconds: 60 },
      })
      .then([
        {
          type: "api_key.updated",
          data: {
            key_id: "key_1",
            scopes: ["links:read"],
            rate_limit: { limit: 5, window_seconds: 60 },
          },
        },
      ]);
    spec
      .given([created])
      .when({ type: "UpdateApiKey", name: "billing", scopes: ["links:write", "links:read"] })
      .then([]);
  });

  test("update and rotate: a revoked key cannot be changed", () => {
    spec
      .given([created, revoked])
      .when({ type: "UpdateApiKey", name: "x" })
      .thenThrows("invalid_request", /revoked/);
    spec
      .given([created, revoked])
      .when({ type: "RotateApiKey", secret: material(h("b")), expirePreviousInSeconds: 0, now })
      .thenThrows("invalid_request", /revoked/);
  });

  test("rotate: keeps the id, retires the current secret at now + overlap", () => {
    spec
      .given([created])
      .when({ type: "RotateApiKey", secret: material(h("b")), expirePreviousInSeconds: 3600, now })
      .then([
        {
          type: "api_key.rotated",
          data: {
            key_id: "key_1",
            prefix: "sk_live_Ab12Cd34",
            masked: "sk_live_••••wxyz",
            secret_hash: h("b"),
            salt: null,
            previous_secret_hash: h("a"),
            previous_expires_at: "2026-03-01T13:00:00.000Z",
          },
        },
      ]);
  });

  test("rotate: the previous secret of a second rotation is the first rotation's secret", () => {
    const rotated: ApiKeyEvent = {
      type: "api_key.rotated",
      data: {
        key_id: "key_1",
        prefix: "p",
        masked: "m",
        secret_hash: h("b"),
        salt: null,
        previous_secret_hash: h("a"),
        previous_expires_at: now.toISOString(),
      },
    };
    spec
      .given([created, rotated])
      .when({ type: "RotateApiKey", secret: material(h("c")), expirePreviousInSeconds: 0, now })
      .then([
        {
          type: "api_key.rotated",
          data: {
            key_id: "key_1",
            prefix: "sk_live_Ab12Cd34",
            masked: "sk_live_••••wxyz",
            secret_hash: h("c"),
            salt: null,
            previous_secret_hash: h("b"),
            previous_expires_at: now.toISOString(),
          },
        },
      ]);
  });

  test("rotate: an expired key or an out-of-range overlap is refused", () => {
    const expiring = {
      ...created,
      data: { ...created.data, expires_at: "2026-02-01T00:00:00.000Z" },
    } as ApiKeyEvent;
    spec
      .given([expiring])
      .when({ type: "RotateApiKey", secret: material(h("b")), expirePreviousInSeconds: 0, now })
      .thenThrows("invalid_request", /expired/);
    spec
      .given([created])
      .when({ type: "RotateApiKey", secret: material(h("b")), expirePreviousInSeconds: -1, now })
      .thenThrows("invalid_request", /expire_previous_in/);
  });

  test("revoke: once records, twice appends nothing", () => {
    spec.given([created]).when({ type: "RevokeApiKey", reason: null }).then([revoked]);
    spec.given([created, revoked]).when({ type: "RevokeApiKey", reason: null }).then([]);
  });

  test("names and reasons are plain text: a control character or a bidi override is refused", () => {
    for (const name of ["billing\u001b[2K", "bil\nling", "\u202egnillib"])
      spec
        .given([])
        .when({ ...create, name })
        .thenThrows("invalid_request", /name must be plain text/);
    spec
      .given([created])
      .when({ type: "UpdateApiKey", name: "ok\u0007" })
      .thenThrows("invalid_request", /U\+0007/);
    spec
      .given([created])
      .when({ type: "RevokeApiKey", reason: "leaked\r\nkey_fake revoked by admin" })
      .thenThrows("invalid_request", /reason must be plain text/);
    spec
      .given([created])
      .when({ type: "RevokeApiKey", reason: "x".repeat(501) })
      .thenThrows("invalid_request", /500/);
    spec
      .given([])
      .when({ ...create, name: "Café — 日本 😀" })
      .then([{ ...created, data: { ...created.data, name: "Café — 日本 😀" } } as ApiKeyEvent]);
  });

  test("commands on a key that does not exist are resource_missing", () => {
    spec.given([]).when({ type: "RevokeApiKey", reason: null }).thenThrows("resource_missing");
    spec.given([]).when({ type: "UpdateApiKey", name: "x" }).thenThrows("resource_missing");
  });
});

/**
 * The objects the HTTP API answers with, as TypeBox schemas: what `/openapi.json` publishes
 * under `components.schemas`, so that a generated client gets typed answers. They describe; they
 * are not checked on the way out (that would cost every request) — the OpenAPI test checks the
 * real answers of every route against them instead, so the two cannot drift apart.
 *
 * Each named schema carries its component name as `$id`; where one holds another (a list its
 * items, `/v1/me` its key), the document refers to it rather than repeating it.
 */
import { type TSchema, Type } from "@sinclair/typebox";

const Time = (description: string) => Type.String({ format: "date-time", description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const closed = { additionalProperties: false } as const;

const RateLimit = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, description: "requests allowed per window" }),
    window_seconds: Type.Integer({ minimum: 1, description: "the window's length" }),
  },
  closed,
);

const apiKeyFields = {
  object: Type.Literal("api_key"),
  id: Type.String({ description: "key_…" }),
  name: Type.String(),
  kind: Type.Union([Type.Literal("secret"), Type.Literal("pair")]),
  public_key: Nullable(Type.String({ description: "a pair's public key (pk_…), safe to log" })),
  prefix: Type.String({ description: "the secret's first 16 characters" }),
  masked: Type.String({ description: "the secret's prefix and last 4 characters" }),
  environment: Type.Union([Type.Literal("live"), Type.Literal("test")]),
  livemode: Type.Boolean(),
  status: Type.Union([Type.Literal("active"), Type.Literal("revoked"), Type.Literal("expired")]),
  active: Type.Boolean(),
  scopes: Type.Array(Type.String({ description: "resource:action, resource:* or *" })),
  entity_id: Type.String({ description: "ent_…" }),
  rate_limit: Nullable(RateLimit),
  created_at: Time("when the key was created"),
  last_used_at: Nullable(Time("when the key was last used, to within a few seconds")),
  expires_at: Nullable(Time("when the key stops working")),
  revoked_at: Nullable(Time("when the key was revoked")),
};

/** An API key: never its secret. */
export const ApiKey = Type.Object(apiKeyFields, { ...closed, $id: "ApiKey" });

/** An API key as created or rotated: the one answer that holds its secret. */
export const ApiKeyWithSecret = Type.Object(
  {
    ...apiKeyFields,
    secret: Type.String({
      description: "shown this once and never stored: sk_live_… or sk_test_…",
    }),
  },
  { ...closed, $id: "ApiKeyWithSecret" },
);

/** A node of the organisation tree. */
export const Entity = Type.Object(
  {
    object: Type.Literal("entity"),
    id: Type.String({ description: "ent_…" }),
    kind: Type.Union([
      Type.Literal("platform"),
      Type.Literal("partner"),
      Type.Literal("merchant"),
      Type.Literal("branch"),
    ]),
    name: Type.String(),
    parent_id: Nullable(Type.String()),
    path: Type.Array(Type.String(), { description: "the ids from the platform down to this one" }),
    reference: Nullable(Type.String({ description: "the caller's own, unique among siblings" })),
    active: Type.Boolean({ description: "false when it or an ancestor is deactivated" }),
    created_at: Time("when the entity was created"),
  },
  { ...closed, $id: "Entity" },
);

/** A dashboard user: never its password or its hash. */
export const User = Type.Object(
  {
    object: Type.Literal("user"),
    id: Type.String({ description: "usr_…" }),
    email: Type.String(),
    entity_id: Type.String(),
    active: Type.Boolean(),
    password_changed_at: Nullable(Time("when the password was last changed")),
    created_at: Time("when the user was created"),
  },
  { ...closed, $id: "User" },
);

/** One event of the log, as docs/event-log.md describes its fields and hash. */
export const Event = Type.Object(
  {
    object: Type.Literal("event"),
    position: Type.Integer({ minimum: 1 }),
    stream_id: Type.String(),
    stream_version: Type.Integer({ minimum: 1 }),
    type: Type.String({ description: "entity.created, api_key.rotated, …" }),
    schema_version: Type.Integer({ minimum: 1 }),
    data: Type.Record(Type.String(), Type.Unknown()),
    metadata: Type.Object(
      {
        actor: Type.String({ description: "cli, system, key_… or usr_…" }),
        request_id: Nullable(Type.String()),
      },
      closed,
    ),
    recorded_at: Time("when the event was appended"),
    prev_hash: Type.String(),
    hash: Type.String(),
  },
  { ...closed, $id: "Event" },
);

/** A page of a list: `has_more` says whether `starting_after` the last item finds more. */
function listOf(item: TSchema, $id: string) {
  return Type.Object(
    { object: Type.Literal("list"), data: Type.Array(item), has_more: Type.Boolean() },
    { ...closed, $id },
  );
}

/** A page of API keys. */
export const ApiKeyList = listOf(ApiKey, "ApiKeyList");
/** A page of entities. */
export const EntityList = listOf(Entity, "EntityList");
/** A page of users. */
export const UserList = listOf(User, "UserList");
/** One key's events, in order. */
export const KeyTimeline = listOf(Event, "KeyTimeline");

/** A page of the log: read on `after` = `next_after` until `has_more` is false. */
export const EventList = Type.Object(
  {
    object: Type.Literal("list"),
    data: Type.Array(Event),
    has_more: Type.Boolean(),
    next_after: Type.Integer({ minimum: 0, description: "the position to read on after" }),
  },
  { ...closed, $id: "EventList" },
);

/** `GET /v1/me`: the calling key and its entity. */
export const Me = Type.Object(
  { key: ApiKey, entity: Entity, livemode: Type.Boolean() },
  { ...closed, $id: "Me" },
);

/** A management token from `POST /v1/auth/login`. */
export const Token = Type.Object(
  {
    token: Type.String({ description: "a JWT, accepted on /v1/api-keys* only" }),
    token_type: Type.Literal("Bearer"),
    expires_at: Time("when the token stops working"),
  },
  { ...closed, $id: "Token" },
);

/** `POST /v1/keys/verify`: whether a key is valid, and if not, the error code it would get. */
export const Verification = Type.Object(
  {
    valid: Type.Boolean(),
    code: Type.String({ description: '"valid", or the code the key would be refused with' }),
    key: Type.Optional(ApiKey),
    entity: Type.Optional(Entity),
    rate_limit: Type.Optional(Nullable(RateLimit)),
    missing_scope: Type.Optional(Type.String()),
    retry_after: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { ...closed, $id: "Verification" },
);

/** The latest signed checkpoint of the log (docs/audit.md). */
export const Checkpoint = Type.Object(
  {
    object: Type.Literal("checkpoint"),
    size: Type.Integer({ minimum: 0 }),
    head_hash: Type.String(),
    created_at: Time("when it was signed"),
    public_key: Type.String({ description: "the signer's Ed25519 key, DER (SPKI), base64" }),
    signature: Type.String({ description: "Ed25519 over `message`, base64" }),
    message: Type.String(),
    public_key_pem: Type.String(),
  },
  { ...closed, $id: "Checkpoint" },
);

/** `GET /v1/audit/verify`: `keygate audit verify`'s verdict on the whole log (docs/audit.md). */
export const LogVerification = Type.Object(
  {
    object: Type.Literal("log_verification"),
    intact: Type.Boolean(),
    events: Type.Integer({
      minimum: 0,
      description: "events verified (before the problem, if any)",
    }),
    head_hash: Nullable(Type.String({ description: "the last event's hash; null if not intact" })),
    checkpoint: Nullable(
      Type.Object(
        {
          size: Type.Integer({ minimum: 0 }),
          head_hash: Type.String(),
          created_at: Time("when it was signed"),
        },
        { ...closed, description: "the latest signed checkpoint, which the log matches" },
      ),
    ),
    position: Nullable(Type.Integer({ minimum: 1, description: "where the first problem is" })),
    problem: Nullable(Type.String({ description: "what is wrong there" })),
  },
  { ...closed, $id: "LogVerification" },
);

/** `GET /v1/audit/replay`: the projections rebuilt from the log, compared with the live ones. */
export const LogReplay = Type.Object(
  {
    object: Type.Literal("log_replay"),
    identical: Type.Boolean(),
    events: Type.Integer({ minimum: 0, description: "events replayed" }),
    tables: Type.Array(Type.String(), { description: "the tables compared" }),
    differences: Type.Array(
      Type.Object(
        {
          table: Type.String(),
          only_in_replay: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
            description: "rows the log implies that the live table lacks or holds otherwise",
          }),
          only_in_live: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
            description: "rows the live table holds that the log does not imply",
          }),
        },
        closed,
      ),
      { description: "the tables that differ, five rows a side at most" },
    ),
  },
  { ...closed, $id: "LogReplay" },
);

/** `GET /healthz` and `GET /readyz`. */
export const Health = Type.Object(
  { status: Type.Union([Type.Literal("ok"), Type.Literal("ready"), Type.Literal("unavailable")]) },
  { ...closed, $id: "Health" },
);

/** Every error, whatever its status (docs/http.md). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        type: Type.Union(
          [
            "authentication",
            "permission",
            "rate_limited",
            "idempotency",
            "invalid_request",
            "api_error",
          ].map((type) => Type.Literal(type)),
        ),
        code: Type.String({ description: "api_key_invalid, insufficient_scope, … (renamable)" }),
        message: Type.String(),
        requestId: Type.String({ description: "req_…, as X-Request-Id" }),
        param: Type.Optional(Type.String({ description: "the request field at fault" })),
      },
      closed,
    ),
  },
  { ...closed, $id: "Error" },
);

/** Every named object, by component name. */
export const API_OBJECTS = {
  ApiKey,
  ApiKeyWithSecret,
  ApiKeyList,
  Entity,
  EntityList,
  User,
  UserList,
  Event,
  EventList,
  KeyTimeline,
  Me,
  Token,
  Verification,
  Checkpoint,
  LogVerification,
  LogReplay,
  Health,
  Error: ErrorBody,
} satisfies Record<string, TSchema>;

/** The name of one of {@link API_OBJECTS}. */
export type ApiObjectName = keyof typeof API_OBJECTS;

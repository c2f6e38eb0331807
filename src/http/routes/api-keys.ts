/**
 * `/v1/api-keys*`: issue, list, read, change, rotate and revoke keys, and read a key's
 * timeline. Management routes: a dashboard user's JWT is accepted here too.
 *
 * A caller sees and acts on keys of its own environment (users: either) whose entity is in
 * its subtree; any other key is `resource_missing`, as if it did not exist. A key it creates
 * or changes never gets a scope the caller lacks, a rate limit above the caller's own, a life
 * longer than the caller's, another environment, or an entity outside the caller's subtree.
 */
import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import { presentApiKey } from "../../app/present-api-key.ts";
import {
  canSeeKey,
  type Identity,
  requireEnvironment,
  requireGrantable,
  requireManageable,
  requireOutlivesToRotate,
  requireWithinLifetime,
} from "../../auth/identity.ts";
import { createApiKey, revokeApiKey, rotateApiKey, updateApiKey } from "../../commands/api-keys.ts";
import { invalidRequest, KeygateError } from "../../errors/keygate-error.ts";
import { commitWithRecord } from "../../idempotency/index.ts";
import { ISO_TIME_EXAMPLE, parseIsoTime } from "../../input/iso-time.ts";
import { MAX_ROTATION_OVERLAP_SECONDS } from "../../keys/api-key.ts";
import { SCOPE_PATTERN } from "../../keys/scopes.ts";
import {
  type ApiKeyObject,
  eventObjectOf,
  findApiKey,
  findEntity,
  listApiKeys,
} from "../../projections/queries.ts";
import { requireGrantableRate, requireRateToRotate } from "../../ratelimit/grantable-rate.ts";
import { forbidCaching } from "../cache-control.ts";
import { EntityIdField, entityInSubtree } from "../entity-in-subtree.ts";
import { eventMetadata } from "../event-metadata.ts";
import { keygateGuard } from "../guard.ts";
import { LIST_LIMIT, listPage } from "../list-page.ts";
import { documented } from "../openapi.ts";
import { publishedWith } from "../published-schema.ts";

const Environment = t.Union([t.Literal("live"), t.Literal("test")]);
/**
 * A JSON number that is whole. TypeBox's own, not Elysia's `t.Integer`, which also takes a
 * string of digits ("60") and so told the OpenAPI document `string | integer, default 0`.
 */
const WholeNumber = Type.Integer;
const RateLimit = t.Union([
  t.Null(),
  t.Object(
    {
      limit: WholeNumber({ minimum: 1 }),
      window_seconds: WholeNumber({ minimum: 1, maximum: 86400 }),
    },
    { additionalProperties: false },
  ),
]);
const Name = t.String({ minLength: 1, maxLength: 200 });
/** Scopes: at least one, and their grammar, checked by the command (naming the one at fault). */
const Scopes = publishedWith(
  t.Array(publishedWith(t.String({ maxLength: 100 }), { pattern: SCOPE_PATTERN.source }), {
    maxItems: 100,
  }),
  { minItems: 1 },
);
const KeyId = t.String({
  pattern: "^key_[0-9A-Za-z]{1,64}$",
  description: "an API key id (key_…)",
});

const CreateBody = t.Object(
  {
    name: Name,
    scopes: Scopes,
    environment: t.Optional(Environment),
    entity_id: t.Optional(EntityIdField),
    kind: t.Optional(
      t.Union([t.Literal("secret"), t.Literal("pair")], {
        description:
          "secret: one key, sent as a Bearer token or in the API-key header; pair: a public key and a secret, sent together as HTTP Basic. Default: secret, or pair where HTTP Basic is the only scheme for keys.",
      }),
    ),
    rate_limit: t.Optional(RateLimit),
    expires_at: t.Optional(
      t.Union([t.Null(), publishedWith(t.String({ maxLength: 40 }), { format: "date-time" })]),
    ),
  },
  { additionalProperties: false },
);
const UpdateBody = t.Object(
  { name: t.Optional(Name), scopes: t.Optional(Scopes), rate_limit: t.Optional(RateLimit) },
  { additionalProperties: false },
);
const ListQuery = t.Object(
  {
    entity_id: t.Optional(EntityIdField),
    status: t.Optional(t.Union([t.Literal("active"), t.Literal("revoked"), t.Literal("expired")])),
    starting_after: t.Optional(KeyId),
    limit: t.Optional(LIST_LIMIT.schema),
  },
  { additionalProperties: false },
);

/** The group of these routes in the OpenAPI document. */
const TAG = "API keys";

const MANAGE_READ = { all: ["api_keys:read"], management: true } as const;
const MANAGE_WRITE = { all: ["api_keys:write"], management: true } as const;

function parseExpiry(raw: string | null | undefined): Date | null {
  if (raw === undefined || raw === null) return null;
  const date = parseIsoTime(raw);
  if (!date)
    throw invalidRequest(
      `expires_at must be an ISO 8601 time with its offset, such as ${ISO_TIME_EXAMPLE}.`,
      "expires_at",
    );
  return date;
}

/**
 * The key `id` as stored (its own `rate_limit`, not yet the effective one {@link presentApiKey}
 * shows), if the caller may see it; else `resource_missing` (naming `param`, if given).
 */
function visibleKey(kg: Keygate, identity: Identity, id: string, param?: string): ApiKeyObject {
  const key = findApiKey(kg.db, id, kg.now());
  const entity = key && findEntity(kg.db, key.entity_id);
  if (!key || !entity || !canSeeKey(identity, entity.path, key.environment))
    throw new KeygateError("resource_missing", `No such API key: ${id}.`, param);
  return key;
}

/** The /v1/api-keys controller. */
export function apiKeyRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/api-keys", normalize: false })
    .use(keygateGuard(kg))
    .post(
      "/v1/api-keys",
      ({ body, identity, set, request }) => {
        const environment = body.environment ?? identity.environment ?? "test";
        requireEnvironment(identity, environment, "environment");
        const entity = entityInSubtree(
          kg,
          identity,
          body.entity_id ?? identity.entity.id,
          "entity_id",
        );
        requireGrantable(identity, body.scopes);
        requireGrantableRate(kg, identity, body.rate_limit ?? null);
        const expiresAt = parseExpiry(body.expires_at);
        requireWithinLifetime(identity, expiresAt, "expires_at");
        return commitWithRecord(kg, request, set, () => {
          const created = createApiKey(
            kg,
            {
              entityId: entity.id,
              environment,
              name: body.name,
              scopes: body.scopes,
              kind: body.kind,
              rateLimit: body.rate_limit ?? null,
              expiresAt,
            },
            eventMetadata(identity, set),
          );
          forbidCaching(set);
          return presentApiKey(kg, created);
        });
      },
      {
        scopes: MANAGE_WRITE,
        parse: "json",
        body: CreateBody,
        detail: documented({
          summary: "Create an API key",
          id: "createApiKey",
          tag: TAG,
          returns: "ApiKeyWithSecret",
          access: "management",
          description:
            "Its secret is in this answer only; a retry with the same Idempotency-Key gets it again within the replay window.",
        }),
      },
    )
    .get(
      "/v1/api-keys",
      ({ query, identity }) => {
        if (query.entity_id !== undefined)
          entityInSubtree(kg, identity, query.entity_id, "entity_id");
        // A cursor the caller cannot see would silently page from wherever its id sorts.
        if (query.starting_after !== undefined)
          visibleKey(kg, identity, query.starting_after, "starting_after");
        return listPage(
          query.limit,
          (limit) =>
            listApiKeys(
              kg.db,
              {
                subtreePath: identity.entity.path,
                environment: identity.environment ?? undefined,
                entityId: query.entity_id,
                status: query.status,
                startingAfter: query.starting_after,
                limit,
              },
              kg.now(),
            ),
          (key) => presentApiKey(kg, key),
        );
      },
      {
        scopes: MANAGE_READ,
        query: ListQuery,
        detail: documented({
          summary: "List API keys",
          id: "listApiKeys",
          tag: TAG,
          returns: "ApiKeyList",
          access: "management",
        }),
      },
    )
    .get(
      "/v1/api-keys/:id",
      ({ params, identity }) => presentApiKey(kg, visibleKey(kg, identity, params.id)),
      {
        scopes: MANAGE_READ,
        detail: documented({
          summary: "Get an API key",
          id: "getApiKey",
          tag: TAG,
          returns: "ApiKey",
          access: "management",
        }),
      },
    )
    .patch(
      "/v1/api-keys/:id",
      ({ params, body, identity, set, request }) => {
        const key = visibleKey(kg, identity, params.id);
        requireManageable(identity, key);
        if (body.scopes !== undefined) requireGrantable(identity, body.scopes);
        if (body.rate_limit !== undefined)
          requireGrantableRate(kg, identity, body.rate_limit, key.rate_limit);
        return commitWithRecord(kg, request, set, () => {
          const updated = updateApiKey(
            kg,
            params.id,
            { name: body.name, scopes: body.scopes, rateLimit: body.rate_limit },
            eventMetadata(identity, set),
          );
          return presentApiKey(kg, updated);
        });
      },
      {
        scopes: MANAGE_WRITE,
        parse: "json",
        body: UpdateBody,
        detail: documented({
          summary: "Update an API key's name, scopes or rate limit",
          id: "updateApiKey",
          tag: TAG,
          returns: "ApiKey",
          access: "management",
        }),
      },
    )
    .post(
      "/v1/api-keys/:id/rotate",
      ({ params, body, identity, set, request }) => {
        const key = visibleKey(kg, identity, params.id);
        requireManageable(identity, key);
        // Rotating hands the caller a secret: only of a key that holds no more than it does.
        requireRateToRotate(kg, identity, key.rate_limit);
        requireOutlivesToRotate(identity, key);
        return commitWithRecord(kg, request, set, () => {
          const rotated = rotateApiKey(
            kg,
            params.id,
            body?.expire_previous_in ?? 0,
            eventMetadata(identity, set),
          );
          forbidCaching(set);
          return presentApiKey(kg, rotated);
        });
      },
      {
        scopes: MANAGE_WRITE,
        parse: "json",
        body: t.Optional(
          t.Object(
            {
              expire_previous_in: t.Optional(
                WholeNumber({
                  minimum: 0,
                  maximum: MAX_ROTATION_OVERLAP_SECONDS,
                  description:
                    "seconds the old secret keeps working, up to 30 days; 0, the default, ends it now",
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        detail: documented({
          summary: "Rotate an API key's secret",
          id: "rotateApiKey",
          tag: TAG,
          returns: "ApiKeyWithSecret",
          access: "management",
          bodyOptional: true,
        }),
      },
    )
    .post(
      "/v1/api-keys/:id/revoke",
      ({ params, body, identity, set, request }) => {
        requireManageable(identity, visibleKey(kg, identity, params.id));
        return commitWithRecord(kg, request, set, () => {
          const revoked = revokeApiKey(
            kg,
            params.id,
            body?.reason ?? null,
            eventMetadata(identity, set),
          );
          return presentApiKey(kg, revoked);
        });
      },
      {
        scopes: MANAGE_WRITE,
        parse: "json",
        body: t.Optional(
          t.Object(
            { reason: t.Optional(t.String({ maxLength: 500 })) },
            { additionalProperties: false },
          ),
        ),
        detail: documented({
          summary: "Revoke an API key",
          id: "revokeApiKey",
          tag: TAG,
          returns: "ApiKey",
          access: "management",
          description: "Revoking a revoked key is not an error: it answers the key as it is.",
          bodyOptional: true,
        }),
      },
    )
    .get(
      "/v1/api-keys/:id/events",
      ({ params, identity }) => {
        visibleKey(kg, identity, params.id);
        const data = kg.store.readStream(params.id).map(eventObjectOf);
        return { object: "list", data, has_more: false };
      },
      {
        scopes: { any: ["api_keys:read", "events:read"], management: true },
        detail: documented({
          summary: "Read an API key's timeline: its events, in order",
          id: "listApiKeyEvents",
          tag: TAG,
          returns: "KeyTimeline",
          access: "management",
        }),
      },
    );
}

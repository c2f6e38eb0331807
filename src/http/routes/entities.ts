/**
 * `/v1/entities*`: the organisation tree, inside the caller's subtree: create, read, list
 * children, rename or re-reference (`PATCH`), deactivate, reactivate. Addressing an entity
 * outside it is `entity_forbidden`; an unknown one is `resource_missing`.
 */
import { Elysia, t } from "elysia";
import type { Keygate } from "../../app/keygate.ts";
import {
  createEntity,
  deactivateEntity,
  reactivateEntity,
  updateEntity,
} from "../../commands/entities.ts";
import { KeygateError } from "../../errors/keygate-error.ts";
import { commitWithRecord } from "../../idempotency/index.ts";
import { findEntity, listEntities } from "../../projections/queries.ts";
import { EntityIdField, entityInSubtree } from "../entity-in-subtree.ts";
import { eventMetadata } from "../event-metadata.ts";
import { keygateGuard } from "../guard.ts";
import { LIST_LIMIT, listPage } from "../list-page.ts";
import { documented } from "../openapi.ts";

/** The group of these routes in the OpenAPI document. */
const TAG = "Entities";

const Name = t.String({ minLength: 1, maxLength: 200 });
const Reference = t.Optional(t.Union([t.Null(), t.String({ minLength: 1, maxLength: 100 })]));

const CreateBody = t.Object(
  {
    kind: t.Union([t.Literal("partner"), t.Literal("merchant"), t.Literal("branch")]),
    name: Name,
    parent_id: t.Optional(EntityIdField),
    reference: Reference,
  },
  { additionalProperties: false },
);

/** What `PATCH /v1/entities/{id}` may change: the name and the reference (`null`: none). */
const UpdateBody = t.Object(
  { name: t.Optional(Name), reference: Reference },
  { additionalProperties: false },
);

/** A page of children, as `/v1/api-keys` pages keys: by id, 10 by default, at most 100. */
const ChildrenQuery = t.Object(
  {
    starting_after: t.Optional(
      t.String({ pattern: "^ent_[0-9A-Za-z]{1,64}$", description: "an entity id (ent_…)" }),
    ),
    limit: t.Optional(LIST_LIMIT.schema),
  },
  { additionalProperties: false },
);

/** The /v1/entities controller. */
export function entityRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/routes/entities", normalize: false })
    .use(keygateGuard(kg))
    .post(
      "/v1/entities",
      ({ body, identity, set, request }) => {
        const parent = entityInSubtree(
          kg,
          identity,
          body.parent_id ?? identity.entity.id,
          "parent_id",
        );
        return commitWithRecord(kg, request, set, () =>
          createEntity(
            kg,
            {
              kind: body.kind,
              name: body.name,
              parentId: parent.id,
              reference: body.reference ?? null,
            },
            eventMetadata(identity, set),
          ),
        );
      },
      {
        scopes: ["entities:write"],
        parse: "json",
        body: CreateBody,
        detail: documented({
          summary: "Create an entity under the caller's own, or under parent_id",
          id: "createEntity",
          tag: TAG,
          returns: "Entity",
        }),
      },
    )
    .get("/v1/entities/:id", ({ params, identity }) => entityInSubtree(kg, identity, params.id), {
      scopes: ["entities:read"],
      detail: documented({
        summary: "Get an entity",
        id: "getEntity",
        tag: TAG,
        returns: "Entity",
      }),
    })
    .patch(
      "/v1/entities/:id",
      ({ params, body, identity, set, request }) => {
        entityInSubtree(kg, identity, params.id);
        return commitWithRecord(kg, request, set, () =>
          updateEntity(
            kg,
            params.id,
            { name: body.name, reference: body.reference },
            eventMetadata(identity, set),
          ),
        );
      },
      {
        scopes: ["entities:write"],
        parse: "json",
        body: UpdateBody,
        detail: documented({
          summary: "Update an entity's name or reference",
          id: "updateEntity",
          tag: TAG,
          returns: "Entity",
        }),
      },
    )
    .get(
      "/v1/entities/:id/children",
      ({ params, query, identity }) => {
        const parent = entityInSubtree(kg, identity, params.id);
        const cursor = query.starting_after;
        if (cursor !== undefined && findEntity(kg.db, cursor)?.parent_id !== parent.id)
          throw new KeygateError(
            "resource_missing",
            `No such child of ${parent.id}: ${cursor}.`,
            "starting_after",
          );
        return listPage(
          query.limit,
          (limit) =>
            listEntities(kg.db, {
              parentId: parent.id,
              startingAfter: query.starting_after,
              limit,
            }),
          (entity) => entity,
        );
      },
      {
        scopes: ["entities:read"],
        query: ChildrenQuery,
        detail: documented({
          summary: "List an entity's children",
          id: "listEntityChildren",
          tag: TAG,
          returns: "EntityList",
        }),
      },
    )
    .post(
      "/v1/entities/:id/deactivate",
      ({ params, identity, set, request }) => {
        entityInSubtree(kg, identity, params.id);
        return commitWithRecord(kg, request, set, () =>
          deactivateEntity(kg, params.id, identity.entity.id, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["entities:write"],
        detail: documented({
          summary: "Deactivate an entity: its whole subtree is locked out at once",
          id: "deactivateEntity",
          tag: TAG,
          returns: "Entity",
        }),
      },
    )
    .post(
      "/v1/entities/:id/reactivate",
      ({ params, identity, set, request }) => {
        entityInSubtree(kg, identity, params.id);
        return commitWithRecord(kg, request, set, () =>
          reactivateEntity(kg, params.id, identity.entity.id, eventMetadata(identity, set)),
        );
      },
      {
        scopes: ["entities:write"],
        detail: documented({
          summary: "Reactivate an entity",
          id: "reactivateEntity",
          tag: TAG,
          returns: "Entity",
        }),
      },
    );
}

/**
 * Entity selection for hierarchical keys (Modulus): a gateway route names where the request
 * says which entity it acts for — a JSON body field, a header, a query or path parameter,
 * holding an entity id or reference. Keys above the leaves (platform, partner, merchant) must
 * name one inside their subtree (400 when missing, 403 `entity_forbidden` when outside);
 * branch keys may omit it and act for their own branch. The entity resolved is what the
 * upstream receives as `X-Keygate-Entity-*`.
 *
 * An entity that does not exist is answered like one outside the subtree: a caller learns
 * nothing about entities it cannot reach.
 */
import type { Keygate } from "../app/keygate.ts";
import type { Identity } from "../auth/identity.ts";
import type { AuthenticatedCheck, StepContext } from "../auth/index.ts";
import type { EntitySelector } from "../config/gateway-config.ts";
import { badPercentEncoding, invalidRequest, KeygateError } from "../errors/keygate-error.ts";
import { isJsonObject, parseJsonBody, rawBodyOf, refuseContentEncoding } from "../http/raw-body.ts";
import { type EntityObject, findEntitiesByReference, findEntity } from "../projections/queries.ts";
import { dashed } from "./ambiguous-request.ts";

/** The entity a request acts for. */
export interface SelectedEntity {
  id: string;
  path: readonly string[];
}

const selected = new WeakMap<Request, SelectedEntity>();

/** The entity a request was resolved to act for (its caller's own if the route selects none). */
export function selectedEntityOf(request: Request, identity: Identity): SelectedEntity {
  return selected.get(request) ?? identity.entity;
}

/** A `:param` of a route pattern, read from a concrete path and percent-decoded. */
function pathParameter(routePath: string, path: string, name: string): string | undefined {
  const at = routePath.split("/").indexOf(`:${name}`);
  const raw = at === -1 ? undefined : path.split("/")[at];
  if (!raw) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badPercentEncoding(name);
  }
}

/**
 * Refuses any name but `name` itself that an upstream may read as `name`: one whose spellings
 * (`spellingsOf`, the first being the name's own as such an upstream reads it) include that of
 * `name`. `why` says how the two differ. The upstream could take its value for the entity while
 * Keygate, reading `name` alone, acted for another entity, or for none.
 */
function refuseVariant(
  names: Iterable<string>,
  name: string,
  spellingsOf: (name: string) => string[],
  why: string,
): void {
  const [target] = spellingsOf(name);
  for (const given of names)
    if (given !== name && target !== undefined && spellingsOf(given).includes(target))
      throw invalidRequest(
        `${given}: ${why}; an upstream may read it as ${name}, so name it exactly, once.`,
        given,
      );
}

/** A name as an upstream that binds names without regard to case reads it (ASP.NET Core). */
const anyCase = (name: string) => [name.toLowerCase()];

/**
 * A header name as servers that map headers to CGI-style variables read it (PHP, Django,
 * Rack): `X_Merchant_Id` and `X-Merchant-Id` are one.
 */
const cgiSpelling = (name: string) => [dashed(name.toLowerCase())];

/**
 * The names a query parameter may be bound to upstream: in any case (ASP.NET Core), with `.`
 * and spaces read as `_` (PHP), and `name[…]` read as `name` (PHP, Rails, Express's `qs`: an
 * array that replaces or joins the plain value) — or, by PHP, with an unclosed `[` as `_`.
 */
function boundNames(name: string): string[] {
  const bound = name.toLowerCase().replace(/[. ]/g, "_");
  const bracket = bound.indexOf("[");
  return bracket === -1 ? [bound] : [bound.slice(0, bracket), bound.replaceAll("[", "_")];
}

/**
 * A query parameter's one value. Given twice, Keygate and the upstream could each take a
 * different one (`?merchant=mine&merchant=theirs`), so the request is refused; so it is when
 * a parameter the upstream may bind to the same name is given ({@link boundNames}).
 */
function queryParameter(uri: string, name: string): string | undefined {
  const query = new URL(uri, "http://localhost").searchParams;
  refuseVariant(
    query.keys(),
    name,
    boundNames,
    `differs from ${name} in case, in . for _, or as ${name}[…]`,
  );
  const values = query.getAll(name);
  if (values.length > 1)
    throw invalidRequest(
      `${name} is given ${values.length} times; the entity a request acts for must be named once.`,
      name,
    );
  return values[0];
}

/** A media type an upstream parses as JSON: `application/json`, or any `…/…+json`. */
const JSON_MEDIA_TYPE = /^(?:application\/json|[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json)$/;

/**
 * Refuses a body whose `Content-Type` is not JSON in UTF-8. Keygate reads the field as JSON;
 * an upstream reads the body as its type says, so a JSON text sent as a form
 * (`{"x":"&branch_ref=BR-002&","branch_ref":"BR-001"}`) names BR-001 to Keygate and BR-002 to a
 * form parser, and a `charset` other than UTF-8 decodes a non-ASCII reference otherwise.
 */
function refuseNonJsonContentType(request: Request, name: string): void {
  const declared = request.headers.get("content-type") ?? "";
  const [type = "", ...parameters] = declared.split(";").map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith("charset="));
  const utf8 = charset === undefined || /^charset="?utf-8"?$/.test(charset);
  if (JSON_MEDIA_TYPE.test(type) && utf8) return;
  throw new KeygateError(
    "unsupported_content_type",
    `This route reads ${name} from a JSON body, and an upstream reads a body as its Content-Type says: send it with Content-Type: application/json (in UTF-8).`,
  );
}

function bodyField(request: Request, name: string): string | undefined {
  const bytes = rawBodyOf(request);
  if (!bytes) return undefined;
  refuseContentEncoding(request);
  refuseNonJsonContentType(request, name);
  const body = parseJsonBody(bytes);
  // Only a member of a JSON object counts: not an array's, nor a property every string has.
  if (!isJsonObject(body)) return undefined;
  refuseVariant(Object.keys(body), name, anyCase, `differs from ${name} only in case`);
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidRequest(`${name}: must be a string.`, name);
  return value;
}

/** The value the request gives for the selector, if any. */
function namedValue(selector: EntitySelector, routePath: string, step: StepContext) {
  const { request } = step;
  switch (selector.from) {
    case "header":
      refuseVariant(
        request.headers.keys(),
        selector.name.toLowerCase(),
        cgiSpelling,
        `differs from ${selector.name} in - and _`,
      );
      return request.headers.get(selector.name) ?? undefined;
    case "query":
      return queryParameter(step.originalUri ?? request.url, selector.name);
    case "path":
      return pathParameter(routePath, step.path, selector.name);
    case "body":
      return bodyField(request, selector.name);
  }
}

function forbidden(selector: EntitySelector, value: string): KeygateError {
  return new KeygateError(
    "entity_forbidden",
    `${selector.name} "${value}" does not name an entity inside this API key's subtree.`,
    selector.name,
  );
}

function resolve(
  kg: Keygate,
  identity: Identity,
  selector: EntitySelector,
  value: string,
): EntityObject {
  const root = identity.entity.path;
  const inside = (entity: EntityObject) => root.every((id, i) => entity.path[i] === id);
  let entity: EntityObject | undefined;
  if (selector.match === "id") {
    entity = findEntity(kg.db, value);
    if (entity && !inside(entity)) entity = undefined;
  } else {
    const found = findEntitiesByReference(kg.db, value, root);
    if (found.length > 1)
      throw invalidRequest(
        `${selector.name}: "${value}" names more than one entity under this key; use a key lower in the tree.`,
        selector.name,
      );
    entity = found[0];
  }
  if (!entity) throw forbidden(selector, value);
  if (selector.kinds && !(selector.kinds as string[]).includes(entity.kind))
    throw invalidRequest(
      `${selector.name}: must name a ${selector.kinds.join(" or ")}, not a ${entity.kind}.`,
      selector.name,
    );
  if (!entity.active)
    throw new KeygateError(
      "entity_forbidden",
      `The entity ${entity.id} is inactive.`,
      selector.name,
    );
  return entity;
}

/** The entity-selection step of the guard chain: it runs first, right after authentication. */
export function entitySelectionStep(kg: Keygate): AuthenticatedCheck {
  return (identity, step) => {
    const target = step.requirement.entity;
    if (!target) return undefined;
    const { selector, routePath } = target;
    const value = namedValue(selector, routePath, step);
    if (value === undefined || value === "") {
      const kind = identity.type === "api_key" ? identity.key.entity.kind : undefined;
      const ownKindAllowed =
        !selector.kinds || (kind && (selector.kinds as string[]).includes(kind));
      if (kind === "branch" && ownKindAllowed) return undefined;
      if (selector.from === "body" && step.originalUri !== undefined)
        throw invalidRequest(
          `${selector.name}: this route names the entity to act for in the request body, which forward-auth never sees; send the request through the gateway, or name the entity in a header.`,
          selector.name,
        );
      const where = selector.from === "body" ? " as a member of the body's JSON object" : "";
      throw invalidRequest(
        `${selector.name}: required for an API key above the branch level; name the entity to act for${where}.`,
        selector.name,
      );
    }
    const entity = resolve(kg, identity, selector, value);
    selected.set(step.request, { id: entity.id, path: entity.path });
    return undefined;
  };
}

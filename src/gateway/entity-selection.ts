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
 * Refuses a name that differs from the selector's only in case (`Merchant` for `merchant`):
 * an upstream that binds names without regard to case (ASP.NET Core's model binding does)
 * could take its value for the entity, while Keygate, seeing none, acted for another.
 */
function refuseCaseVariant(names: Iterable<string>, name: string): void {
  const lower = name.toLowerCase();
  for (const given of names)
    if (given !== name && given.toLowerCase() === lower)
      throw invalidRequest(
        `${given}: differs from ${name} only in case; an upstream may read it as ${name}, so name it exactly, once.`,
        given,
      );
}

/**
 * Refuses a header that is the selector's with `_` for `-` or the other way round
 * (`X_Merchant_Id` for `X-Merchant-Id`): servers that map headers to CGI-style variables (PHP,
 * Django, Rack) read both as one, and could take its value for the entity while Keygate,
 * reading the header by its name, acted for another.
 */
function refuseUnderscoreVariant(headers: Headers, name: string): void {
  const lower = name.toLowerCase();
  for (const given of headers.keys())
    if (given !== lower && dashed(given) === dashed(lower))
      throw invalidRequest(
        `${given}: is the ${name} header spelled with another mix of - and _; an upstream may read it as ${name}, so send ${name} alone.`,
        given,
      );
}

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
 * Refuses a query parameter other than the selector that an upstream may bind to the
 * selector's name (`Merchant`, `merchant[]`, `merchant[0]`): it could act for that value while
 * Keygate judged the plain parameter, or found none.
 */
function refuseBoundVariant(names: Iterable<string>, name: string): void {
  const [target] = boundNames(name);
  for (const given of names)
    if (given !== name && target !== undefined && boundNames(given).includes(target))
      throw invalidRequest(
        `${given}: an upstream may read it as ${name} (in another case, with . for _, or as ${name}[…]), so name it exactly, once.`,
        given,
      );
}

/**
 * A query parameter's one value. Given twice, Keygate and the upstream could each take a
 * different one (`?merchant=mine&merchant=theirs`), so the request is refused; so it is when
 * a parameter the upstream may bind to the same name is given ({@link refuseBoundVariant}).
 */
function queryParameter(uri: string, name: string): string | undefined {
  const query = new URL(uri, "http://localhost").searchParams;
  refuseBoundVariant(query.keys(), name);
  const values = query.getAll(name);
  if (values.length > 1)
    throw invalidRequest(
      `${name} is given ${values.length} times; the entity a request acts for must be named once.`,
      name,
    );
  return values[0];
}

function bodyField(request: Request, name: string): string | undefined {
  const bytes = rawBodyOf(request);
  if (!bytes) return undefined;
  refuseContentEncoding(request);
  const body = parseJsonBody(bytes);
  // Only a member of a JSON object counts: not an array's, nor a property every string has.
  if (!isJsonObject(body)) return undefined;
  refuseCaseVariant(Object.keys(body), name);
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
      refuseUnderscoreVariant(request.headers, selector.name);
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

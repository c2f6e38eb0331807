/**
 * `GET /openapi.json`: the OpenAPI 3.1 document a client generator reads (docs/http.md). The
 * paths, parameters and request bodies come from the routes' own TypeBox schemas (the same that
 * validate every request, read by @elysiajs/openapi's `toOpenAPISchema`); each route adds what
 * its schemas cannot say with {@link documented}: a summary, a method name, the object it
 * answers with (api-objects.ts), the headers it sends (api-headers.ts) and who may call it.
 * Rules a route checks in code are published as the schema keywords they amount to
 * (published-schema.ts). The credential schemes are the ones this deployment's configuration
 * switches on, under the names and prefixes it gives them. No page: a self-hosted payments
 * service should not load a viewer from a CDN.
 */
import { toOpenAPISchema } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import type { IdempotencyConfig, KeygateConfig } from "../config/config.ts";
import { keyRequiredAt } from "../idempotency/key-required.ts";
import { API_HEADERS, type ApiHeaderName, ID_HEADERS, RATE_LIMIT_HEADERS } from "./api-headers.ts";
import { API_OBJECTS, type ApiObjectName } from "./api-objects.ts";
import { asPublished } from "./published-schema.ts";

/** Who may call an operation: anyone, any API key, or API keys and management tokens. */
export type Access = "public" | "key" | "management";

/** What a success answers with: a named object, text, nothing, or the upstream's answer. */
export type Answer = ApiObjectName | "text" | "empty" | "upstream";

/** What a route says of itself in the document, beyond its schemas. */
export interface OperationDoc {
  summary: string;
  /** The generated client's method name: camelCase, unique (default: from method and path). */
  id?: string;
  /** The group it is listed under. */
  tag: string;
  /** What a success answers with. */
  returns: Answer;
  /** Who may call it; default `key`. */
  access?: Access;
  description?: string;
  /** The request body may be left out (`POST …/rotate` with no overlap). */
  bodyOptional?: boolean;
  /** Answers other than success and the envelope, by status (`/readyz`'s 503). */
  alsoAnswers?: Record<string, { description: string; returns: ApiObjectName }>;
  /** Headers of its own on a success, beyond those every answer gets (forward-auth's identity). */
  successHeaders?: readonly ApiHeaderName[];
  /** Headers of its own on a refusal or failure. */
  errorHeaders?: readonly ApiHeaderName[];
}

/** Where the vendor extensions that {@link openapiDocument} turns into OpenAPI fields live. */
const ACCESS = "x-keygate-access";
const BODY_OPTIONAL = "x-keygate-body-optional";

const jsonOf = (name: ApiObjectName) => ({
  "application/json": { schema: { $ref: `#/components/schemas/${name}` } },
});

/** The OpenAPI response of a success. */
function success(summary: string, answer: Exclude<Answer, "upstream">) {
  switch (answer) {
    case "text":
      return {
        description: summary,
        content: { "text/plain": { schema: { type: "string" as const } } },
      };
    case "empty":
      return { description: summary };
    default:
      return { description: summary, content: jsonOf(answer) };
  }
}

/** A response with these headers added to those it declares already, by reference. */
function withHeaders<R extends object>(response: R, names: readonly ApiHeaderName[]): R {
  if (names.length === 0) return response;
  const declared = (response as { headers?: Record<string, unknown> }).headers ?? {};
  const added = names.map((name) => [name, { $ref: `#/components/headers/${name}` }]);
  return { ...response, headers: { ...declared, ...Object.fromEntries(added) } };
}

/** The objects that hold a secret: their answers are sent with `Cache-Control: no-store`. */
const SECRET_HOLDERS: ReadonlySet<Answer> = new Set(["ApiKeyWithSecret", "Token"]);

/** The answers of one of Keygate's own routes: its object, or an error in the envelope. */
function answered(op: OperationDoc, answer: Exclude<Answer, "upstream">) {
  const failed = op.errorHeaders ?? [];
  const succeeded = [
    ...(op.successHeaders ?? []),
    ...(SECRET_HOLDERS.has(answer) ? (["Cache-Control"] as const) : []),
  ];
  return {
    "200": withHeaders(success(op.summary, answer), succeeded),
    "4XX": withHeaders(
      { description: "Refused, in the error envelope", content: jsonOf("Error") },
      failed,
    ),
    "5XX": withHeaders(
      { description: "Failed, in the error envelope", content: jsonOf("Error") },
      failed,
    ),
  };
}

/** The answers of a gateway route: whatever the upstream sends, unless Keygate refuses first. */
function forwarded(op: OperationDoc) {
  const answer = {
    description:
      "The upstream's answer, passed on; or Keygate's refusal (401, 403, 429, …) in the error envelope",
  };
  return { default: withHeaders(answer, op.errorHeaders ?? []) } as Record<string, typeof answer>;
}

/** The `detail` of a route: its operation's summary, method name, answers and access. */
export function documented(op: OperationDoc) {
  return {
    summary: op.summary,
    ...(op.id ? { operationId: op.id } : {}),
    tags: [op.tag],
    ...(op.description ? { description: op.description } : {}),
    responses:
      op.returns === "upstream"
        ? forwarded(op)
        : {
            ...answered(op, op.returns),
            ...Object.fromEntries(
              Object.entries(op.alsoAnswers ?? {}).map(([status, { description, returns }]) => [
                status,
                { description, content: jsonOf(returns) },
              ]),
            ),
          },
    [ACCESS]: op.access ?? "key",
    ...(op.bodyOptional ? { [BODY_OPTIONAL]: true } : {}),
  };
}

/**
 * A method name for a route that has none of its own (a gateway route, a `/v1/me` alias):
 * `POST /api/payment-gateway/process` → `postApiPaymentGatewayProcess`, `:id` → `ById`.
 */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .flatMap((segment) =>
      segment.startsWith(":") ? ["by", ...segment.slice(1).split(/[-_.]/)] : segment.split(/[-_.]/),
    )
    .filter(Boolean);
  const camel = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
  return `${method.toLowerCase() === "all" ? "any" : method.toLowerCase()}${camel}`;
}

/** A JSON Schema as published: a named schema nested in another becomes a reference to it. */
function published(schema: unknown, root = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => published(item, false));
  if (!schema || typeof schema !== "object") return schema;
  const { $id, ...rest } = schema as Record<string, unknown>;
  if (!root && typeof $id === "string" && $id in API_OBJECTS)
    return { $ref: `#/components/schemas/${$id}` };
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, published(v, false)]));
}

/** The credential schemes this deployment accepts, by name. */
function securitySchemes({ auth, keys }: Pick<KeygateConfig, "auth" | "keys">) {
  const secret = `${keys.secretPrefix}_live_… or ${keys.secretPrefix}_test_…`;
  return {
    ...(auth.bearer
      ? { secretKey: { type: "http", scheme: "bearer", description: `A secret key: ${secret}` } }
      : {}),
    ...(auth.apiKeyHeader
      ? {
          apiKeyHeader: {
            type: "apiKey",
            in: "header",
            name: auth.apiKeyHeader,
            description: `A secret key: ${secret}`,
          },
        }
      : {}),
    ...(auth.basic
      ? {
          keyPair: {
            type: "http",
            scheme: "basic",
            description: `A key pair: ${keys.publicPrefix}_… as the user name, its ${keys.secretPrefix}_… as the password`,
          },
        }
      : {}),
    ...(auth.jwt
      ? {
          managementToken: {
            type: "http",
            scheme: "bearer",
            bearerFormat: "JWT",
            description: "A dashboard user's token from POST /v1/auth/login: /v1/api-keys* only",
          },
        }
      : {}),
  };
}

type Operation = Record<string, unknown> & {
  requestBody?: { required?: boolean; content?: unknown };
  parameters?: unknown[];
};

/**
 * The `Idempotency-Key` header parameter of an operation, for the methods it is honoured on
 * (docs/idempotency.md): required where the configuration requires it, in its configured form.
 */
function idempotencyHeader(config: IdempotencyConfig) {
  const methods = new Set(config.methods.map((m) => m.toLowerCase()));
  const required = keyRequiredAt(config);
  return (method: string, documentedPath: string) => {
    if (!config.enabled || !methods.has(method)) return undefined;
    const path = documentedPath.replace(/\{([^}]+)\}/g, ":$1");
    return {
      name: "Idempotency-Key",
      in: "header",
      required: required(method.toUpperCase(), path, path),
      description: `Makes a retry safe: the first answer is recorded and replayed for ${config.ttlSeconds} s (sent bare or as a quoted string)`,
      schema: { type: "string", pattern: config.keyPattern.source },
    };
  };
}

/**
 * Adds the headers every answer of an operation shares to each of its responses: the ids;
 * the rate-limit fields where a credential is needed and limits are on; `Idempotent-Replayed`
 * where an `Idempotency-Key` is honoured; `Retry-After` on refusals, and `Accept-Encoding`
 * where Keygate reads a body (its 415 for a compressed one). Returns the names used.
 */
function addSharedHeaders(
  responses: Record<string, object>,
  shared: { rateLimited: boolean; replayable: boolean; readsBody: boolean },
): ApiHeaderName[] {
  const names: ApiHeaderName[] = [
    ...ID_HEADERS,
    ...(shared.rateLimited ? RATE_LIMIT_HEADERS : []),
    ...(shared.replayable ? (["Idempotent-Replayed"] as const) : []),
  ];
  const refusal: ApiHeaderName[] = [
    ...names,
    "Retry-After",
    ...(shared.readsBody ? (["Accept-Encoding"] as const) : []),
  ];
  const used = new Set<ApiHeaderName>();
  for (const [status, response] of Object.entries(responses)) {
    const refused = status === "4XX" || status === "default";
    const all = refused ? refusal : names;
    responses[status] = withHeaders(response, all);
    for (const name of Object.keys((responses[status] as { headers: object }).headers))
      used.add(name as ApiHeaderName);
  }
  return [...used];
}

const SCHEMA_REF = "#/components/schemas/";

/** The names of the schemas `node` refers to (`$ref`), at any depth. */
function schemaRefsIn(node: unknown, found: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) schemaRefsIn(item, found);
  else if (node && typeof node === "object")
    for (const [key, value] of Object.entries(node))
      if (key === "$ref" && typeof value === "string" && value.startsWith(SCHEMA_REF))
        found.add(value.slice(SCHEMA_REF.length));
      else schemaRefsIn(value, found);
  return found;
}

/**
 * The schemas the paths use, directly or through one another: an object no route of this
 * configuration answers with (the sign-in's `Token` with management tokens off) is left out,
 * so that a client generated from the document has no class it never receives.
 */
function schemasInUse(paths: unknown, schemas: Record<string, unknown>): Record<string, unknown> {
  const used = schemaRefsIn(paths, new Set());
  for (const name of used) schemaRefsIn(schemas[name], used); // a Set iterates what is added
  return Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
}

/** The whole document, for the routes `app` serves. */
export function openapiDocument(app: Elysia, kg: Keygate) {
  const { paths, components } = toOpenAPISchema(app);
  const schemes = securitySchemes(kg.config);
  const keySchemes = Object.keys(schemes)
    .filter((name) => name !== "managementToken")
    .map((name) => ({ [name]: [] }));
  const managementSchemes = Object.keys(schemes).map((name) => ({ [name]: [] }));
  const retrySafe = idempotencyHeader(kg.config.idempotency);
  const headersUsed = new Set<ApiHeaderName>();
  for (const [path, methods] of Object.entries(paths ?? {}))
    for (const [method, operation] of Object.entries(methods as Record<string, Operation>)) {
      const access = operation[ACCESS];
      if (access === "public") operation.security = [];
      if (access === "management") operation.security = managementSchemes;
      // The header is read after authentication: on the routes that need a credential.
      const header = access === "public" ? undefined : retrySafe(method, path);
      operation.parameters = [
        ...(operation.parameters ?? []).map(asPublished),
        ...(header ? [header] : []),
      ];
      if (operation.parameters.length === 0) delete operation.parameters;
      const responses = operation.responses as Record<string, object>;
      const shared = {
        rateLimited: access !== "public" && kg.config.rateLimits.enabled,
        replayable: header !== undefined,
        // Keygate's own routes read their bodies; a gateway route's is its upstream's.
        readsBody: operation.requestBody !== undefined,
      };
      for (const name of addSharedHeaders(responses, shared)) headersUsed.add(name);
      if (operation.requestBody)
        operation.requestBody = {
          ...operation.requestBody,
          content: asPublished(operation.requestBody.content),
          ...(operation[BODY_OPTIONAL] ? { required: false } : {}),
        };
      delete operation[ACCESS];
      delete operation[BODY_OPTIONAL];
    }
  return {
    openapi: "3.1.0",
    info: {
      title: "Keygate",
      version: "1",
      description: "API-key authentication layer: keys, entities, users, events, verification.",
    },
    // The document is served by the Keygate it describes: its paths are relative to it.
    servers: [{ url: "/", description: "this Keygate" }],
    security: keySchemes,
    paths,
    components: {
      ...components,
      securitySchemes: schemes,
      headers: Object.fromEntries([...headersUsed].sort().map((name) => [name, API_HEADERS[name]])),
      schemas: schemasInUse(paths, {
        ...components.schemas,
        ...Object.fromEntries(
          Object.entries(API_OBJECTS).map(([name, schema]) => [name, published(schema)]),
        ),
      }),
    },
  };
}

/** The `GET /openapi.json` route: the document is made once, at the first request. */
export function openapiRoute(kg: Keygate) {
  let document: unknown;
  const app: Elysia = new Elysia({ name: "keygate/openapi" });
  return app.get(
    "/openapi.json",
    () => {
      document ??= openapiDocument(app, kg);
      return document;
    },
    { detail: { hide: true } },
  );
}

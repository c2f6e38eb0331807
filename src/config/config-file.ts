/**
 * The `KEYGATE_CONFIG` file: its schema (TypeBox; unknown fields are refused) and reading it,
 * with a message naming the file and the first bad field. config.ts resolves it, with the
 * environment, into the configuration Keygate runs with.
 */
import { readFileSync } from "node:fs";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { fieldPath } from "../errors/field-path.ts";
import { ERROR_CATALOGUE, type KeygateErrorCode } from "../errors/keygate-error.ts";
import { explained } from "../errors/schema-issue.ts";
import { duplicateMember } from "../input/duplicate-member.ts";
import { utf8Text } from "../input/utf8-text.ts";
import { KEY_PREFIX_PATTERN } from "../keys/key-format.ts";
import { ConfigError } from "./config-error.ts";
import { GatewaySectionSchema } from "./gateway-config.ts";
import { HttpMethodSchema } from "./http-method.ts";

const Prefix = Type.String({ pattern: KEY_PREFIX_PATTERN.source });
const HeaderName = Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$" });
const ErrorCodeName = Type.String({ pattern: "^[a-z][a-z0-9_]{0,63}$" });
const errorCodes = Object.keys(ERROR_CATALOGUE) as KeygateErrorCode[];
const PolicySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1 }),
    window_seconds: Type.Integer({ minimum: 1, maximum: 86400 }),
    algorithm: Type.Optional(Type.Union([Type.Literal("fixed"), Type.Literal("sliding")])),
  },
  { additionalProperties: false },
);

/**
 * What a listening address may be (the file's `host`, `KEYGATE_HOST`): an IPv4 or IPv6
 * address, or a host name (no port, no scheme).
 */
export const HOST_PATTERN = /^[0-9A-Za-z.:-]+$/;

/** The schema of the `KEYGATE_CONFIG` file. Unknown fields are refused. */
export const ConfigFileSchema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    host: Type.Optional(Type.String({ pattern: HOST_PATTERN.source, maxLength: 253 })),
    idle_timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
    tls: Type.Optional(
      Type.Object(
        {
          cert_path: Type.String({ minLength: 1 }),
          key_path: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    database: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ minLength: 1 })),
          durability: Type.Optional(Type.Union([Type.Literal("normal"), Type.Literal("full")])),
        },
        { additionalProperties: false },
      ),
    ),
    keys: Type.Optional(
      Type.Object(
        {
          secret_prefix: Type.Optional(Prefix),
          public_prefix: Type.Optional(Prefix),
        },
        { additionalProperties: false },
      ),
    ),
    auth: Type.Optional(
      Type.Object(
        {
          bearer: Type.Optional(Type.Boolean()),
          api_key_header: Type.Optional(Type.Union([Type.Literal(false), HeaderName])),
          basic: Type.Optional(Type.Boolean()),
          jwt: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    rate_limits: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          /** null: no per-key default, only keys' own limits and route policies (Modulus). */
          default: Type.Optional(Type.Union([PolicySchema, Type.Null()])),
          routes: Type.Optional(
            Type.Array(
              Type.Composite(
                [
                  PolicySchema,
                  Type.Object({
                    name: Type.Optional(
                      Type.String({ minLength: 1, maxLength: 64, pattern: '^[^"\\\\]+$' }),
                    ),
                    method: HttpMethodSchema,
                    path: Type.String({ pattern: "^/" }),
                  }),
                ],
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    idempotency: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          methods: Type.Optional(Type.Array(HttpMethodSchema, { minItems: 1, maxItems: 10 })),
          key_pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86400 })),
          mismatch_status: Type.Optional(Type.Union([Type.Literal(409), Type.Literal(422)])),
          record_server_errors: Type.Optional(Type.Boolean()),
          max_response_bytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 * 1024 ** 2 })),
          required: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  method: HttpMethodSchema,
                  path: Type.String({ pattern: "^/" }),
                },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    gateway: Type.Optional(GatewaySectionSchema),
    audit: Type.Optional(
      Type.Object(
        {
          /** The Ed25519 private key file (PKCS#8 PEM); default: beside the database. */
          checkpoint_key_path: Type.Optional(Type.String({ minLength: 1 })),
          /** How often `serve` signs a checkpoint when the log has grown; 0 = never. */
          checkpoint_interval_seconds: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 7 * 86400 }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    /** More paths that answer as `GET /v1/me` (VoltzPay's `GET /me`). */
    me_aliases: Type.Optional(Type.Array(Type.String({ pattern: "^/[A-Za-z0-9._~/-]*$" }))),
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          /** Peer addresses allowed to scrape without the token (default: loopback). */
          allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        },
        { additionalProperties: false },
      ),
    ),
    errors: Type.Optional(
      Type.Object(
        {
          codes: Type.Optional(
            Type.Object(
              Object.fromEntries(errorCodes.map((code) => [code, Type.Optional(ErrorCodeName)])),
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The config file as written. */
export type ConfigFile = Static<typeof ConfigFileSchema>;

/** Reads and validates the file `KEYGATE_CONFIG` names. */
export function readConfigFile(path: string): ConfigFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `KEYGATE_CONFIG ${path}: cannot read the file (${(error as Error).message})`,
    );
  }
  // A BOM (Notepad's UTF-8) is dropped; other encodings would alter non-ASCII text unseen.
  const text = utf8Text(bytes);
  if (text === undefined)
    throw new ConfigError(`KEYGATE_CONFIG ${path}: not UTF-8 text; save the file as UTF-8`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`KEYGATE_CONFIG ${path}: not valid JSON (${(error as Error).message})`);
  }
  // JSON.parse keeps the last of two; the operator who wrote both meant one of them.
  const twice = duplicateMember(text);
  if (twice !== undefined)
    throw new ConfigError(
      `KEYGATE_CONFIG ${path}: ${twice || '""'}: given twice in its object; keep one`,
    );
  const error = Value.Errors(ConfigFileSchema, parsed).First();
  if (error) {
    const first = explained(error);
    const at = first.path ?? "";
    const field = at === "" ? "(the whole file)" : fieldPath(at);
    throw new ConfigError(`KEYGATE_CONFIG ${path}: ${field}: ${first.message}`);
  }
  return parsed as ConfigFile;
}

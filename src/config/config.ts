/**
 * Configuration: environment variables and an optional JSON file (`KEYGATE_CONFIG`,
 * config-file.ts), resolved at start into one {@link KeygateConfig}. A bad setting stops the
 * start with a message naming it. Environment variables win over the file.
 */
import { isIP } from "node:net";
import type { Durability } from "../db/open.ts";
import type { KeygateErrorCode } from "../errors/keygate-error.ts";
import { METHOD_OVERRIDE_HEADERS, PATH_OVERRIDE_HEADERS } from "../gateway/ambiguous-request.ts";
import { compilePathPattern, pathPatternFault } from "../http/path-pattern.ts";
import { methodsMeet } from "../http/route-method.ts";
import { DEFAULT_POLICY, type RateLimitPolicy, type RoutePolicy } from "../ratelimit/policy.ts";
import { type AddressList, addressList, addressListFault } from "./address-list.ts";
import { ConfigError } from "./config-error.ts";
import { type ConfigFile, HOST_PATTERN, readConfigFile } from "./config-file.ts";
import {
  type GatewayConfig,
  type GatewayRoute,
  LOOPBACK,
  reservedPathOf,
  resolveGateway,
} from "./gateway-config.ts";
import { compileKeyPattern } from "./key-pattern.ts";
import { resolveRoutePolicies } from "./route-policies.ts";
import { JWT_KEY, RESULTS_KEY, type ServerKey } from "./secret-file.ts";

/** The resolved configuration every part of Keygate reads. */
export interface KeygateConfig {
  port: number;
  /** The address `serve` listens on: every interface (`0.0.0.0`) unless `KEYGATE_HOST` narrows it. */
  host: string;
  /** Seconds Bun's server keeps a silent connection (`idle_timeout_seconds`, 1–255). */
  idleTimeoutSeconds: number;
  /** HTTPS: the PEM files `serve` reads at start, or undefined for plain HTTP. */
  tls: TlsFiles | undefined;
  dbPath: string;
  durability: Durability;
  keys: {
    /** Prefix of secret keys (`sk` → `sk_live_…`). */
    secretPrefix: string;
    /** Prefix of key-pair public keys (`pk` → `pk_live_…`). */
    publicPrefix: string;
    /** Server pepper for HMAC-SHA-256 secret hashes (from `KEYGATE_PEPPER`), if any. */
    pepper: string | undefined;
  };
  /** Which credential schemes are accepted (all on by default). */
  auth: {
    /** `Authorization: Bearer <secret key>`. */
    bearer: boolean;
    /** The header carrying a secret key (`X-Api-Key`), or false to refuse it. */
    apiKeyHeader: string | false;
    /** `Authorization: Basic base64(pk:sk)` for key pairs. */
    basic: boolean;
    /** `Authorization: Bearer <JWT>` on management routes. */
    jwt: boolean;
  };
  /** Rate limits: the default per-key policy and the per-route ones (SPEC §4). */
  rateLimits: { enabled: boolean; default: RateLimitPolicy | null; routes: RoutePolicy[] };
  /** Idempotency-Key handling (SPEC §5). */
  idempotency: IdempotencyConfig;
  /**
   * The master key (64 hex characters) that wraps recorded results' data keys, from
   * `KEYGATE_RESULTS_KEY`, if set (else a key file beside the database).
   */
  resultsKey: string | undefined;
  /** The JWT signing key from `KEYGATE_JWT_SECRET`, if set (else a key file beside the database). */
  jwtSecret: string | undefined;
  /** Error codes renamed for the wire, e.g. `api_key_invalid` → `invalid_api_key`. */
  errorCodes: Partial<Record<KeygateErrorCode, string>>;
  /** Gateway mode and forward-auth (SPEC §7). */
  gateway: GatewayConfig;
  /** More paths answering as `GET /v1/me`. */
  meAliases: string[];
  /** Signed checkpoints (issue 7). */
  audit: {
    /** The checkpoint signing key's file, or undefined: `keygate-checkpoint.key` beside the database. */
    checkpointKeyPath: string | undefined;
    /** Seconds between `serve`'s checkpoints (0: none). */
    checkpointIntervalSeconds: number;
  };
  /** Whether `serve` writes one JSON access-log line per request to stdout (`KEYGATE_ACCESS_LOG`). */
  accessLog: boolean;
  /** The `KEYGATE_CONFIG` file it was read from, if any: errors found later name it too. */
  configFile?: string;
  /** `GET /metrics`: who may scrape it. */
  metrics: {
    enabled: boolean;
    /** Client addresses and ranges allowed without the token. */
    allow: AddressList;
    /** `Authorization: Bearer <token>` also lets a scraper in (`KEYGATE_METRICS_TOKEN`). */
    token: string | undefined;
  };
}

/** Where the certificate chain and its private key are, and which setting named each. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
  /** How an error names the certificate's setting (`KEYGATE_TLS_CERT`, or the file's field). */
  certSetting: string;
  /** As `certSetting`, for the private key. */
  keySetting: string;
}

/** Idempotency-Key handling, resolved. */
export interface IdempotencyConfig {
  /** Off: the header is ignored everywhere. */
  enabled: boolean;
  /** The methods the header is honoured on (upper case). Default: POST. */
  methods: string[];
  /** What a valid key looks like. Default: 8–64 of letters, digits, `.`, `_`, `-`. */
  keyPattern: RegExp;
  /** How long a result is replayed. Default: 24 h. */
  ttlSeconds: number;
  /** The status of `idempotency_mismatch`: 409 (default) or 422 (IETF draft). */
  mismatchStatus: 409 | 422;
  /** Whether 5xx responses are recorded and replayed (default: yes). */
  recordServerErrors: boolean;
  /** Larger response bodies are not stored. Default: 1 MiB. */
  maxResponseBytes: number;
  /**
   * Where the header is required: method + path pattern, for every path it covers, or (a
   * gateway route's `"idempotency": "required"`, `routeOwned`) for the requests that route serves.
   */
  required: { method: string; path: string; routeOwned: boolean }[];
}

/**
 * Header names the API-key header must not take: HTTP's own (read by servers and proxies on
 * the way), those a proxy writes about the client, and those Keygate reads or writes for
 * another purpose. Taken, a key would be read from — and the gateway would strip — a field
 * clients send for that purpose (a correlation id, a body's type).
 */
const TAKEN_HEADER = new RegExp(
  `^(?:${[
    "authorization",
    "host",
    "cookie",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "transfer-encoding",
    "expect",
    "accept(?:-.*)?",
    "content-.*",
    "proxy-.*",
    "forwarded",
    "x-forwarded-.*",
    "x-real-ip",
    "x-original-.*",
    "x-keygate-.*",
    "idempotency-key",
    "x-request-id",
    "x-correlation-id",
    ...METHOD_OVERRIDE_HEADERS,
    ...PATH_OVERRIDE_HEADERS,
  ].join("|")})$`,
  "i",
);

/** The default Idempotency-Key format of SPEC §5. */
export const DEFAULT_IDEMPOTENCY_KEY_PATTERN = "^[A-Za-z0-9._-]{8,64}$";

/** The defaults of SPEC §7. */
export const DEFAULT_PORT = 3000;
/** Every interface, as Bun and Deno listen by default. */
export const DEFAULT_HOST = "0.0.0.0";
/**
 * How long Bun's server keeps a connection on which nothing is sent or received (Elysia's
 * default, made explicit): an idle keep-alive connection, or a request whose answer is slow
 * to come. The gateway lifts it while it waits on its upstream (gateway/idle-connection.ts).
 */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 30;
/** Where the database lives unless `KEYGATE_DB` or the file says otherwise. */
export const DEFAULT_DB_PATH = "./data/keygate.sqlite";

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535)
    throw new ConfigError(`KEYGATE_PORT: ${JSON.stringify(raw)} is not a port number (0–65535)`);
  return port;
}

/**
 * The listening address: `KEYGATE_HOST`, else the file's `host`, else every interface. A `:` is
 * allowed for an IPv6 address only: `0.0.0.0:80` is a port given in the wrong place, which
 * would otherwise surface only as a failure to listen.
 */
function resolveHost(
  env: Record<string, string | undefined>,
  file: ConfigFile,
  source: string | undefined,
): string {
  const host = env.KEYGATE_HOST;
  if (!host) {
    const fromFile = file.host ?? DEFAULT_HOST;
    if (fromFile.includes(":") && isIP(fromFile) !== 6)
      throw new ConfigError(`KEYGATE_CONFIG ${source}: host: ${withPortMessage(fromFile)}`);
    return fromFile;
  }
  if (!HOST_PATTERN.test(host) || host.length > 253)
    throw new ConfigError(
      `KEYGATE_HOST: ${JSON.stringify(host)} is not an address or a host name (such as 127.0.0.1, ::1 or 0.0.0.0)`,
    );
  if (host.includes(":") && isIP(host) !== 6)
    throw new ConfigError(`KEYGATE_HOST: ${withPortMessage(host)}`);
  return host;
}

/** Why a host holding a `:` that is no IPv6 address is refused. */
function withPortMessage(host: string): string {
  return `"${host}" is neither a host name nor an address (a : belongs in an IPv6 address only; the port is KEYGATE_PORT, or the file's port)`;
}

/**
 * HTTPS files: `KEYGATE_TLS_CERT` and `KEYGATE_TLS_KEY` together (they win over the file's
 * `tls`), or neither. One without the other stops the start: half a TLS setting would
 * otherwise serve plain HTTP to a deployment that meant to encrypt.
 */
function resolveTls(
  env: Record<string, string | undefined>,
  file: ConfigFile,
  source: string | undefined,
): TlsFiles | undefined {
  const cert = env.KEYGATE_TLS_CERT || undefined;
  const key = env.KEYGATE_TLS_KEY || undefined;
  if (cert && key)
    return {
      certPath: cert,
      keyPath: key,
      certSetting: "KEYGATE_TLS_CERT",
      keySetting: "KEYGATE_TLS_KEY",
    };
  if (cert) throw new ConfigError("KEYGATE_TLS_KEY: must be set with KEYGATE_TLS_CERT");
  if (key) throw new ConfigError("KEYGATE_TLS_CERT: must be set with KEYGATE_TLS_KEY");
  if (!file.tls) return undefined;
  return {
    certPath: file.tls.cert_path,
    keyPath: file.tls.key_path,
    certSetting: `KEYGATE_CONFIG ${source}: tls.cert_path`,
    keySetting: `KEYGATE_CONFIG ${source}: tls.key_path`,
  };
}

function resolveIdempotency(file: ConfigFile, source: string | undefined): IdempotencyConfig {
  const section = file.idempotency ?? {};
  const patternSource = section.key_pattern ?? DEFAULT_IDEMPOTENCY_KEY_PATTERN;
  const keyPattern = compileKeyPattern(patternSource);
  if (typeof keyPattern === "string")
    throw new ConfigError(`KEYGATE_CONFIG ${source}: idempotency.key_pattern: ${keyPattern}`);
  const enabled = section.enabled ?? true;
  const methods = (section.methods ?? ["POST"]).map((m) => m.toUpperCase());
  const required = [
    ...(section.required ?? []).map((r, i) => ({
      ...r,
      routeOwned: false,
      field: `idempotency.required[${i}]`,
    })),
    ...(file.gateway?.routes ?? []).flatMap((r, i) =>
      r.idempotency === "required"
        ? [{ ...r, routeOwned: true, field: `gateway.routes[${i}].idempotency` }]
        : [],
    ),
  ].map((r) => ({ ...r, method: r.method.toUpperCase() }));
  for (const { field, method } of required) {
    const unread = unreadRequirement(enabled, methods, method);
    if (unread) throw new ConfigError(`KEYGATE_CONFIG ${source}: ${field}: ${unread}`);
  }
  return {
    enabled,
    methods,
    keyPattern,
    ttlSeconds: section.ttl_seconds ?? 86400,
    mismatchStatus: section.mismatch_status ?? 409,
    recordServerErrors: section.record_server_errors ?? true,
    maxResponseBytes: section.max_response_bytes ?? 1024 * 1024,
    required: required.map((r) => ({ method: r.method, path: r.path, routeOwned: r.routeOwned })),
  };
}

/**
 * Why a requirement of `Idempotency-Key` on `method` could never be enforced, if so: the header
 * is read nowhere, or not on that method. Accepted, it would leave a route the operator believes
 * safe to retry running every retry afresh.
 */
function unreadRequirement(
  enabled: boolean,
  methods: readonly string[],
  method: string,
): string | undefined {
  if (!enabled)
    return "Idempotency-Key is required here while idempotency.enabled is false, which ignores the header everywhere";
  if (!methods.includes(method))
    return `Idempotency-Key is required on ${method}, which idempotency.methods (${methods.join(", ") || "none"}) does not name: the header is not read there`;
  return undefined;
}

/** What a gateway route's path may hold: unreserved characters, `/`, `:` and `*`. */
const GATEWAY_PATH = /^\/[A-Za-z0-9._~:/*-]*$/;

/**
 * Refuses a path pattern the router would read otherwise than the rules matched against it
 * (http/path-pattern.ts), naming its field.
 */
function checkPathPatterns(file: ConfigFile, source: string | undefined): void {
  const written = [
    ...(file.rate_limits?.routes ?? []).map((r, i) => [`rate_limits.routes[${i}]`, r.path]),
    ...(file.idempotency?.required ?? []).map((r, i) => [`idempotency.required[${i}]`, r.path]),
    ...(file.gateway?.routes ?? []).map((r, i) => [`gateway.routes[${i}]`, r.path]),
  ];
  for (const [field, path] of written) {
    const fault =
      pathPatternFault(path as string) ??
      (field?.startsWith("gateway.") && !GATEWAY_PATH.test(path as string)
        ? "a gateway route's path holds letters, digits, - . _ ~ and / only, besides its :parameters and a final * (a character a client must percent-encode would be matched encoded, which the gateway refuses)"
        : undefined);
    if (fault) throw new ConfigError(`KEYGATE_CONFIG ${source}: ${field}.path: ${path}: ${fault}`);
  }
}

/**
 * Refuses an alias of `GET /v1/me` that is Keygate's own path, is listed twice, or is a path a
 * gateway route serves: the router would give that path to one of the two, and the other
 * would silently never be reached.
 */
function checkMeAliases(
  aliases: readonly string[],
  routes: readonly GatewayRoute[],
  source: string | undefined,
): void {
  for (const [i, alias] of aliases.entries()) {
    const fail = (why: string): never => {
      throw new ConfigError(`KEYGATE_CONFIG ${source}: me_aliases[${i}]: ${alias} ${why}`);
    };
    if (reservedPathOf(alias)) fail("is Keygate's own");
    if (aliases.indexOf(alias) !== i) fail(`is also me_aliases[${aliases.indexOf(alias)}]`);
    const served = routes.findIndex(
      (route) => methodsMeet("GET", route.method) && compilePathPattern(route.path).test(alias),
    );
    if (served !== -1)
      fail(
        `is served by gateway.routes[${served}] (${routes[served]?.method} ${routes[served]?.path}): a path is either the upstream's or an alias, not both`,
      );
  }
}

/** The server key `key`'s variable gives in `env`, if any; refused when it cannot be that key. */
function serverKeyFrom(
  env: Record<string, string | undefined>,
  key: ServerKey,
): string | undefined {
  // Trimmed as its file is: a key from a secret made of a file (`openssl rand -hex 32 > f`)
  // ends with that file's newline, and is the same key as the file's.
  const value = env[key.variable]?.trim() || undefined;
  const problem = value === undefined ? undefined : key.problem(value);
  if (problem) throw new ConfigError(`${key.variable}: ${problem}`);
  return value;
}

/** `metrics.allow`, each entry an address or a range. */
function metricsAllow(source: string | undefined, entries: readonly string[]): AddressList {
  const fault = addressListFault(entries);
  if (fault)
    throw new ConfigError(
      `KEYGATE_CONFIG ${source}: metrics.allow[${fault.index}]: ${fault.message}`,
    );
  return addressList(entries);
}

/** The variables that name files, each read as the path it is. */
const PATH_VARIABLES = [
  "KEYGATE_DB",
  "KEYGATE_CONFIG",
  "KEYGATE_CHECKPOINT_KEY",
  "KEYGATE_TLS_CERT",
  "KEYGATE_TLS_KEY",
] as const;

/**
 * Refuses a path variable with white space at its ends — a line break from a secret or an
 * env file, most often. Taken as written, `KEYGATE_DB` ending in one made a new, empty
 * database beside the real one (new platform keys, the real keys unknown), and the other
 * paths named files that are not there, in messages where the line break did not show.
 */
function refusePaddedPaths(env: Record<string, string | undefined>): void {
  for (const name of PATH_VARIABLES) {
    const value = env[name];
    if (value && value.trim() !== value)
      throw new ConfigError(
        `${name}: ${JSON.stringify(value)} begins or ends with white space (a line break from a secret or an env file?); no file is meant to be named so: remove it`,
      );
  }
}

/** Resolves the configuration from the environment (and the file it names). */
export function loadConfig(env: Record<string, string | undefined> = process.env): KeygateConfig {
  refusePaddedPaths(env);
  const file = env.KEYGATE_CONFIG ? readConfigFile(env.KEYGATE_CONFIG) : {};
  const keys = {
    secretPrefix: file.keys?.secret_prefix ?? "sk",
    publicPrefix: file.keys?.public_prefix ?? "pk",
    pepper: env.KEYGATE_PEPPER || undefined,
  };
  if (keys.secretPrefix === keys.publicPrefix) {
    throw new ConfigError(
      `KEYGATE_CONFIG ${env.KEYGATE_CONFIG}: keys.public_prefix: must differ from keys.secret_prefix`,
    );
  }
  const source = env.KEYGATE_CONFIG;
  const fail = (field: string, message: string): never => {
    throw new ConfigError(
      field === "upstream" && env.KEYGATE_UPSTREAM
        ? `KEYGATE_UPSTREAM: ${message}`
        : `KEYGATE_CONFIG ${source}: ${field.startsWith("gateway") ? field : `gateway.${field}`}: ${message}`,
    );
  };
  checkPathPatterns(file, source);
  const gateway = resolveGateway(file.gateway, env.KEYGATE_UPSTREAM, fail);
  checkMeAliases(file.me_aliases ?? [], gateway.routes, source);
  const auth = {
    bearer: file.auth?.bearer ?? true,
    apiKeyHeader: file.auth?.api_key_header ?? "X-Api-Key",
    basic: file.auth?.basic ?? true,
    jwt: file.auth?.jwt ?? true,
  };
  if (auth.apiKeyHeader && TAKEN_HEADER.test(auth.apiKeyHeader))
    throw new ConfigError(
      `KEYGATE_CONFIG ${source}: auth.api_key_header: ${auth.apiKeyHeader} already means something to HTTP, a proxy or Keygate; name a header of your own, such as X-Api-Key`,
    );
  // Management tokens are refused outside /v1/api-keys*: without a key scheme, no key could
  // call anything, the verify route and the gateway included.
  if (!auth.bearer && !auth.apiKeyHeader && !auth.basic)
    throw new ConfigError(
      `KEYGATE_CONFIG ${source}: auth: bearer, api_key_header and basic are all off, so no API key could authenticate anywhere`,
    );
  // No header can carry white space at a value's ends: a token with some could never match.
  const metricsToken = env.KEYGATE_METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16)
    throw new ConfigError("KEYGATE_METRICS_TOKEN: must be at least 16 characters");
  const accessLog = env.KEYGATE_ACCESS_LOG || "stdout";
  if (accessLog !== "stdout" && accessLog !== "off")
    throw new ConfigError(`KEYGATE_ACCESS_LOG: "${accessLog}" is neither "stdout" nor "off"`);
  const jwtSecret = serverKeyFrom(env, JWT_KEY);
  const resultsKey = serverKeyFrom(env, RESULTS_KEY);
  return {
    port: env.KEYGATE_PORT ? parsePort(env.KEYGATE_PORT) : (file.port ?? DEFAULT_PORT),
    host: resolveHost(env, file, source),
    idleTimeoutSeconds: file.idle_timeout_seconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
    tls: resolveTls(env, file, source),
    dbPath: env.KEYGATE_DB || file.database?.path || DEFAULT_DB_PATH,
    durability: file.database?.durability ?? "normal",
    keys,
    auth,
    rateLimits: {
      enabled: file.rate_limits?.enabled ?? true,
      default:
        file.rate_limits?.default === null
          ? null
          : file.rate_limits?.default
            ? {
                name: DEFAULT_POLICY.name,
                limit: file.rate_limits.default.limit,
                windowSeconds: file.rate_limits.default.window_seconds,
                algorithm: file.rate_limits.default.algorithm ?? "fixed",
              }
            : DEFAULT_POLICY,
      routes: resolveRoutePolicies(file, source),
    },
    idempotency: resolveIdempotency(file, source),
    resultsKey,
    jwtSecret,
    errorCodes: file.errors?.codes ?? {},
    gateway,
    meAliases: file.me_aliases ?? [],
    audit: {
      checkpointKeyPath: env.KEYGATE_CHECKPOINT_KEY || file.audit?.checkpoint_key_path,
      checkpointIntervalSeconds: file.audit?.checkpoint_interval_seconds ?? 3600,
    },
    accessLog: accessLog === "stdout",
    metrics: {
      enabled: file.metrics?.enabled ?? true,
      allow: metricsAllow(source, file.metrics?.allow ?? LOOPBACK),
      token: metricsToken,
    },
    ...(source ? { configFile: source } : {}),
  };
}

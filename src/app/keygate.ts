/**
 * The composition root: opens the database, wires the event store to its inline
 * projections and the hot key index, and brings stale projections up to date. The CLI,
 * the server and the tests all start Keygate through {@link openKeygate}.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { FAILED_SIGN_IN_LIMIT, FailedAuthLimiter } from "../auth/failed-auth-limiter.ts";
import type { KeygateConfig } from "../config/config.ts";
import { ConfigError } from "../config/config-error.ts";
import { createSecretFile, JWT_KEY, RESULTS_KEY, type ServerKey } from "../config/secret-file.ts";
import { type KeygateDatabase, openDatabase } from "../db/open.ts";
import type { SqlConnection } from "../db/sql.ts";
import { ResultCipher } from "../idempotency/result-cipher.ts";
import { IdempotencyResults, resultsInWindow } from "../idempotency/result-store.ts";
import { PepperCheck } from "../keys/pepper-check.ts";
import { Metrics } from "../metrics/metrics.ts";
import { KeyIndex } from "../projections/key-index.ts";
import { allProjections, ensureProjectionsCurrent } from "../projections/rebuild.ts";
import { InMemoryCounterStore } from "../ratelimit/counter-store.ts";
import { RateLimiter } from "../ratelimit/rate-limiter.ts";
import { EventStore } from "../store/event-store.ts";
import { LastUsedTracker } from "../usage/last-used-tracker.ts";

/** A running Keygate core: everything a command or a request handler needs. */
export interface Keygate {
  config: KeygateConfig;
  db: KeygateDatabase;
  store: EventStore;
  keyIndex: KeyIndex;
  /** Per-key rate limits (SPEC §4). */
  rateLimiter: RateLimiter;
  /** Failed authentication attempts per client address. */
  failedAuth: FailedAuthLimiter;
  /** Failed sign-ins per (normalised) email, whatever address they come from. */
  failedSignIns: FailedAuthLimiter;
  /** Recorded Idempotency-Key results and the exactly-once admission (SPEC §5). */
  idempotency: IdempotencyResults;
  /** Last-used times, batched. */
  usage: LastUsedTracker;
  /** Counters for `GET /metrics`. */
  metrics: Metrics;
  /** The HMAC key that signs management JWTs. */
  jwtSecret: string;
  /** The database's record of the pepper its keys are hashed with (src/keys/pepper-check.ts). */
  pepper: PepperCheck;
  /**
   * Why this Keygate must not serve, if it must not: its results key file is missing while the
   * database holds results still in their window, sealed under the lost one. Such a process
   * runs on a key of its own, kept nowhere, which seals nothing (the CLI records no result).
   */
  missingResultsKey: string | undefined;
  /** The clock every command reads. */
  now(): Date;
  /**
   * Flushes pending last-used times and closes the database — closed even when the flush
   * throws (another process holding the write lock past `busy_timeout`), which it rethrows.
   */
  close(): void;
}

/** Options of {@link openKeygate}. */
export interface OpenKeygateOptions {
  /** The clock (tests inject one). */
  now?: () => Date;
  /** Whether the database may be made here (default true): `OpenDatabaseOptions.create`. */
  createDatabase?: boolean;
}

/** Where the file that keeps `key` is: beside the database (none for one in memory). */
export function serverKeyPath(config: KeygateConfig, key: ServerKey): string | undefined {
  return config.dbPath === ":memory:" ? undefined : join(dirname(config.dbPath), key.file);
}

/**
 * Why the file that keeps `key` beside the database cannot serve as that key (damaged, or
 * written by hand with a key too short), if it is there and cannot.
 */
export function serverKeyFileProblem(config: KeygateConfig, key: ServerKey): string | undefined {
  const path = serverKeyPath(config, key);
  if (path === undefined || !existsSync(path)) return undefined;
  return keyFileProblem(path, key, readFileSync(path, "utf8").trim());
}

/** Why `text`, read from the file at `path`, cannot be `key`, if it cannot. */
function keyFileProblem(path: string, key: ServerKey, text: string): string | undefined {
  const problem = key.problem(text);
  if (!problem) return undefined;
  return `${path} cannot be the key ${key.variable} would give: it ${problem}. Put back the file kept with the database's backups (or set ${key.variable}); if it is lost, ${key.ifLost}`;
}

/**
 * A 256-bit key given in the environment, else one kept in `key.file` beside the database
 * (mode 0600), created on first start so it survives restarts; a file that cannot be the key
 * is refused with a {@link ConfigError}. An in-memory database gets a key for the life of the
 * process. Returned as 64 hex characters.
 */
function keyBesideDatabase(config: KeygateConfig, given: string | undefined, key: ServerKey) {
  if (given) return given;
  const path = serverKeyPath(config, key);
  if (path === undefined) return randomBytes(32).toString("hex");
  // Made on first start; a file another process made first is read instead.
  if (!existsSync(path)) createSecretFile(path, randomBytes(32).toString("hex"));
  const text = readFileSync(path, "utf8").trim();
  const problem = keyFileProblem(path, key, text);
  if (problem) throw new ConfigError(problem);
  return text;
}

/**
 * Why no results key may be made for the database `sql` opens, found without making one: its
 * file is missing (and `KEYGATE_RESULTS_KEY` unset) while the database holds results still in
 * their window. Results sealed from then on under a new key would be lost in turn when the old
 * file is put back.
 */
export function missingResultsKeyProblem(
  config: KeygateConfig,
  sql: SqlConnection,
  nowMs: number,
): string | undefined {
  const path = serverKeyPath(config, RESULTS_KEY);
  if (config.resultsKey || path === undefined || existsSync(path)) return undefined;
  const within = resultsInWindow(sql, nowMs);
  if (!within) return undefined;
  return `${path} is missing, but up to ${within.count} result(s) recorded under Idempotency-Key, until ${new Date(within.untilMs).toISOString()}, are sealed with it: put the file back from where it was kept with the database's backups (or set KEYGATE_RESULTS_KEY); if it is lost, make a new one on purpose (openssl rand -hex 32 > ${path}; chmod 600 ${path}), and their retries are answered 500, never run again, until then`;
}

/**
 * The results key (64 hex characters): as {@link keyBesideDatabase}, except where
 * {@link missingResultsKeyProblem} says none may be made: the process then gets a key for its
 * life only, and `missing` says why it must not serve.
 */
function resultsKey(
  config: KeygateConfig,
  sql: SqlConnection,
  nowMs: number,
): { hex: string; missing: string | undefined } {
  const missing = missingResultsKeyProblem(config, sql, nowMs);
  if (missing) return { hex: randomBytes(32).toString("hex"), missing };
  return { hex: keyBesideDatabase(config, config.resultsKey, RESULTS_KEY), missing };
}

/** Opens Keygate on the configured database. */
export function openKeygate(config: KeygateConfig, options: OpenKeygateOptions = {}): Keygate {
  const now = options.now ?? (() => new Date());
  const db = openDatabase(config.dbPath, {
    durability: config.durability,
    create: options.createDatabase ?? true,
  });
  const projections = allProjections(db.sql);
  ensureProjectionsCurrent(db.sql, projections);
  const store = new EventStore(db.sql, { projections, now });
  const keyIndex = new KeyIndex(db.sql, store);
  // The JWT key signs tokens (`KEYGATE_JWT_SECRET` or keygate-jwt.key); the results key
  // wraps recorded results' data keys (`KEYGATE_RESULTS_KEY` or keygate-results.key).
  const jwtSecret = keyBesideDatabase(config, config.jwtSecret, JWT_KEY);
  const results = resultsKey(config, db.sql, now().getTime());
  const idempotency = new IdempotencyResults(
    db.sql,
    store,
    new ResultCipher(Buffer.from(results.hex, "hex")),
    { ttlSeconds: config.idempotency.ttlSeconds, now },
  );
  const usage = new LastUsedTracker(db.sql);
  const close = () => {
    try {
      usage.flush();
    } finally {
      db.close();
    }
  };
  const failedAuth = new FailedAuthLimiter({ now });
  const rateLimiter = new RateLimiter(new InMemoryCounterStore(), now);
  return {
    config,
    db,
    store,
    keyIndex,
    usage,
    failedAuth,
    failedSignIns: new FailedAuthLimiter({ ...FAILED_SIGN_IN_LIMIT, now }),
    rateLimiter,
    idempotency,
    metrics: new Metrics(),
    jwtSecret,
    pepper: new PepperCheck(db.sql, config.keys.pepper),
    missingResultsKey: results.missing,
    now,
    close,
  };
}

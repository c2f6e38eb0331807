/**
 * Opens the SQLite database: the runtime's driver (driver.ts), WAL mode, the drizzle
 * migrations applied. Only `src/db/` knows which driver sits behind it.
 */
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { type KeygateOrm, openDriver } from "./driver.ts";
import { applyMigrations, newerSchemaProblem, pendingMigrations } from "./migrate.ts";
import type { SqlConnection } from "./sql.ts";

/** How hard a commit waits for the disk. */
export type Durability = "normal" | "full";

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * `normal` (default): WAL with synchronous=NORMAL — a commit survives a process crash
   * (`kill -9`) but the last commits may be lost if the machine loses power.
   * `full`: synchronous=FULL — every commit is fsynced before it returns.
   */
  durability?: Durability;
  /** Milliseconds to wait for another connection's write lock before failing. */
  busyTimeoutMs?: number;
  /**
   * Whether a database may be made here (default true): a missing file is created, an empty
   * one migrated. False for every command but `serve` and `init`, which work on the database
   * a deployment already has: a mistyped `KEYGATE_DB` is then refused, not answered from a
   * new, empty database (`audit verify` reporting an intact log of 0 events).
   */
  create?: boolean;
}

/** An open database: the driver-neutral connection and the drizzle handle over it. */
export interface KeygateDatabase {
  /** Prepared-statement access for hot paths. */
  sql: SqlConnection;
  /** drizzle over the same connection, for queries where convenience wins. */
  orm: KeygateOrm;
  /** Where the file is (":memory:" for an in-memory database). */
  path: string;
  /** Closes the connection. */
  close(): void;
}

/** The database file cannot be opened as one: a directory, not SQLite, not readable, … */
export class DatabaseOpenError extends Error {
  constructor(path: string, cause: unknown) {
    super(`cannot open the database ${path}: ${(cause as Error)?.message ?? cause}`);
    this.name = "DatabaseOpenError";
  }
}

/**
 * Creates `path` empty and readable by its owner only (0600), whatever the umask, unless it
 * exists; false if it did. SQLite gives a database's `-wal` and `-shm` files its mode, so they
 * follow; a backup made into such a file keeps it.
 */
export function createPrivateFile(path: string): boolean {
  try {
    closeSync(openSync(path, "wx", 0o600));
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  }
}

/** drizzle's record of the migrations applied: the first table of every Keygate database. */
const MIGRATIONS_TABLE = "__drizzle_migrations";

/** The tables every Keygate database has had since its first migration. */
const OWN_TABLES = [MIGRATIONS_TABLE, "events"];

/** The tables of the database `sql` opens, SQLite's own left out. */
function tablesOf(sql: SqlConnection): string[] {
  return sql
    .prepare<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
    )
    .all()
    .map((row) => row.name);
}

/**
 * Why Keygate must not work on the database `sql` opens, if so: it holds another
 * application's tables (it has tables, but not Keygate's), so migrating it would write
 * Keygate's tables and write-ahead log into someone else's database; or, where no database
 * may be made (`create` false), it holds no tables at all — an empty file is no deployment's
 * database yet. A database Keygate has migrated is recognised by {@link OWN_TABLES}, so
 * tables an operator added beside them change nothing.
 */
function notKeygateProblem(sql: SqlConnection, create: boolean): string | undefined {
  const tables = tablesOf(sql);
  // drizzle makes its table before the transaction of the migrations: where that transaction
  // failed (a full disk), the table is all there is, and holds no row.
  if (tables.length === 1 && tables[0] === MIGRATIONS_TABLE && noMigrationRecorded(sql))
    tables.length = 0;
  if (tables.length === 0)
    return create ? undefined : `it is empty, not yet a Keygate database — ${MAKE_ONE}`;
  if (OWN_TABLES.every((name) => tables.includes(name))) return undefined;
  const shown = tables.slice(0, 3).join(", ") + (tables.length > 3 ? ", …" : "");
  return `it is another application's database (its tables: ${shown}), and Keygate writes into no database but its own; point KEYGATE_DB at Keygate's database, or at a new file`;
}

/** Whether drizzle's table of applied migrations holds none. */
function noMigrationRecorded(sql: SqlConnection): boolean {
  return sql.prepare(`SELECT 1 FROM ${MIGRATIONS_TABLE} LIMIT 1`).get() === undefined;
}

/** What to do where a command found no database to work on. */
const MAKE_ONE =
  "this command works on a database Keygate already keeps: check KEYGATE_DB, or make a new one there with `keygate init` (or `keygate serve`)";

/**
 * Opens the file and reads its header (WAL mode needs it): what an unusable path fails at. A
 * file that is not Keygate's database ({@link notKeygateProblem}) is refused before anything is
 * written to it, WAL mode included; where `create` is false, so is a missing file, and
 * nothing is made in its place.
 */
function openFile(path: string, busyTimeoutMs: number, create: boolean) {
  try {
    if (path !== ":memory:") {
      if (!create && !existsSync(path)) throw new Error(`no such file — ${MAKE_ONE}`);
      // A new directory for the database is its owner's alone, like the database itself.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      createPrivateFile(path);
    }
    const connection = openDriver(path);
    try {
      connection.sql.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      const problem = notKeygateProblem(connection.sql, create);
      if (problem) throw new Error(problem);
      connection.sql.exec("PRAGMA journal_mode = WAL");
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  } catch (error) {
    throw new DatabaseOpenError(path, error);
  }
}

/**
 * Opens the database at `path` — creating it if needed, unless `options.create` is false — and
 * applies pending migrations.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): KeygateDatabase {
  const create = options.create ?? true;
  const { sql: db, orm, close } = openFile(path, options.busyTimeoutMs ?? 5000, create);
  db.exec(`PRAGMA synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
  // Checkpoint the WAL every ~40 MiB (10,000 pages) instead of SQLite's 4 MiB: a key creation
  // dirties a dozen pages, so the default ran a checkpoint (with its fsyncs) every few
  // hundred appends; this is a quarter more appends per second, for a WAL file of that size.
  db.exec("PRAGMA wal_autocheckpoint = 10000");
  db.exec("PRAGMA foreign_keys = ON");
  // Deleted rows are overwritten, not just unlinked: a destroyed data key (an expired
  // idempotent result's) does not linger in a free page of the file.
  db.exec("PRAGMA secure_delete = ON");
  // 64 MiB of page cache (SQLite's default is 2 MiB): the key tables of a large
  // deployment stay in memory instead of being re-read on every lookup miss.
  db.exec("PRAGMA cache_size = -65536");
  const newer = newerSchemaProblem(db);
  if (newer) {
    close();
    throw new DatabaseOpenError(path, new Error(newer));
  }
  try {
    applyMigrations(orm);
  } catch (error) {
    close();
    throw new DatabaseOpenError(
      path,
      new Error(
        `its schema could not be brought up to date; no migration was applied (${migrationFailure(error)})`,
      ),
    );
  }
  return { sql: db, orm, path, close };
}

/** A database opened to be looked at, never written: {@link inspectDatabase}. */
export interface InspectedDatabase {
  sql: SqlConnection;
  /** The migrations opening it for serving would apply first (tags, in order). */
  pendingMigrations: string[];
  /** Why this build must not serve it (another application's, or newer Keygate's), if so. */
  refusal: string | undefined;
  close(): void;
}

/**
 * Opens the existing database at `path` to be looked at, read-only: no file made, no migration
 * applied, nothing written (not even its write-ahead log folded in on close). What serving it
 * would change first is reported instead.
 */
export function inspectDatabase(path: string): InspectedDatabase {
  if (!existsSync(path)) throw new DatabaseOpenError(path, new Error("no such file"));
  let connection: ReturnType<typeof openDriver>;
  try {
    connection = openDriver(path, { readOnly: true });
    connection.sql.exec("PRAGMA busy_timeout = 5000");
  } catch (error) {
    throw new DatabaseOpenError(path, error);
  }
  const { sql, close } = connection;
  try {
    return {
      sql,
      pendingMigrations: pendingMigrations(sql),
      refusal: notKeygateProblem(sql, true) ?? newerSchemaProblem(sql),
      close,
    };
  } catch (error) {
    close();
    throw new DatabaseOpenError(path, error);
  }
}

/**
 * What stopped the migrations. drizzle's migrator runs them in one transaction and rolls it back
 * when one fails; when SQLite has ended that transaction itself (a full disk, an I/O error),
 * the ROLLBACK fails too and its error is the one thrown, the first being lost.
 */
function migrationFailure(error: unknown): string {
  let innermost = error;
  while (innermost instanceof Error && innermost.cause !== undefined) innermost = innermost.cause;
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  return /no transaction is active/.test(message)
    ? "SQLite ended the transaction itself: a full disk or an I/O error"
    : message;
}

/**
 * Opens the SQLite database on Bun: bun:sqlite, WAL mode, the drizzle migrations applied.
 * This file and `sql.ts` are the only places that know the driver.
 */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { applyMigrations } from "./migrate.ts";
import * as schema from "./schema.ts";
import type { SqlConnection, SqlStatement, SqlValue } from "./sql.ts";

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
}

/** An open database: the driver-neutral connection and the drizzle handle over it. */
export interface KeygateDatabase {
  /** Prepared-statement access for hot paths. */
  sql: SqlConnection;
  /** drizzle over the same connection, for queries where convenience wins. */
  orm: BunSQLiteDatabase<typeof schema>;
  /** Where the file is (":memory:" for an in-memory database). */
  path: string;
  /** Closes the connection. */
  close(): void;
}

/** Opens (creating if needed) the database at `path` and applies pending migrations. */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): KeygateDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
  db.exec("PRAGMA foreign_keys = ON");
  // Deleted rows are overwritten, not just unlinked: a destroyed data key (an expired
  // idempotent result's) does not linger in a free page of the file.
  db.exec("PRAGMA secure_delete = ON");
  // 64 MiB of page cache (SQLite's default is 2 MiB): the key tables of a large
  // deployment stay in memory instead of being re-read on every lookup miss.
  db.exec("PRAGMA cache_size = -65536");
  const orm = drizzle({ client: db, schema });
  applyMigrations(orm);
  return { sql: bunConnection(db), orm, path, close: () => db.close() };
}

function bunConnection(db: Database): SqlConnection {
  const cache = new Map<string, SqlStatement>();
  // One reusable wrapper: bun:sqlite nests it as a savepoint when a transaction is open.
  const immediate = db.transaction((fn: () => unknown) => fn()).immediate;
  return {
    prepare<Row>(sql: string): SqlStatement<Row> {
      let statement = cache.get(sql);
      if (!statement) {
        statement = wrapStatement(db.prepare(sql));
        cache.set(sql, statement);
      }
      return statement as SqlStatement<Row>;
    },
    exec: (sql) => {
      db.exec(sql);
    },
    transaction: <T>(fn: () => T): T => immediate(fn) as T,
    dataVersion: () =>
      (db.query("PRAGMA data_version").get() as { data_version: number }).data_version,
    close: () => db.close(),
  };
}

function wrapStatement<Row>(statement: Statement): SqlStatement<Row> {
  // Bound methods, not wrappers: this sits on the append and rebuild hot paths.
  const get = statement.get.bind(statement);
  return {
    all: statement.all.bind(statement) as SqlStatement<Row>["all"],
    get: (...params: SqlValue[]) => (get(...params) as Row | null) ?? undefined,
    run: statement.run.bind(statement),
    iterate: statement.iterate.bind(statement) as SqlStatement<Row>["iterate"],
  };
}

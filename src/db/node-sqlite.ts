/**
 * The SQLite driver off Bun (Deno): `node:sqlite`'s DatabaseSync. drizzle has no driver for
 * it, but its better-sqlite3 session only needs `prepare()` statements with `run`, `all`, `get`
 * and `raw()`: a small shim provides them, and the database is assembled from drizzle's own
 * parts, as its better-sqlite3 `drizzle()` does (without importing better-sqlite3 itself).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { BetterSQLiteSession } from "drizzle-orm/better-sqlite3/session";
import { createTableRelationsHelpers, extractTablesRelationalConfig } from "drizzle-orm/relations";
import { BaseSQLiteDatabase, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { DriverConnection, OpenDriverOptions } from "./driver.ts";
import * as schema from "./schema.ts";
import type { SqlConnection, SqlStatement, SqlValue } from "./sql.ts";

type Bindable = null | number | bigint | string | Uint8Array;

/** node:sqlite binds no booleans: SQLite stores them as 1 and 0. */
const bindable = (params: unknown[]): Bindable[] =>
  params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : (p as Bindable)));

/** A statement as better-sqlite3 shapes it (what drizzle's session calls). */
function betterStatement(db: DatabaseSync, sql: string) {
  const objects = db.prepare(sql);
  let arrays: StatementSync | undefined;
  const raw = () => {
    if (!arrays) {
      arrays = db.prepare(sql);
      arrays.setReturnArrays(true);
    }
    const statement = arrays;
    return {
      all: (...p: unknown[]) => statement.all(...bindable(p)),
      get: (...p: unknown[]) => statement.get(...bindable(p)),
    };
  };
  return {
    run: (...p: unknown[]) => objects.run(...bindable(p)),
    all: (...p: unknown[]) => objects.all(...bindable(p)),
    get: (...p: unknown[]) => objects.get(...bindable(p)),
    raw,
  };
}

/** Opens `path` (created if missing; with `readOnly`, only if it exists) with node:sqlite. */
export function openDriver(path: string, options: OpenDriverOptions = {}): DriverConnection {
  const db = new DatabaseSync(path, { readOnly: options.readOnly === true });
  const client = { prepare: (sql: string) => betterStatement(db, sql) };
  const tables = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
  const relational = {
    fullSchema: schema,
    schema: tables.tables,
    tableNamesMap: tables.tableNamesMap,
  };
  const dialect = new SQLiteSyncDialect();
  const session = new BetterSQLiteSession(client as never, dialect, relational, {});
  const orm = new BaseSQLiteDatabase("sync", dialect, session as never, relational);
  return {
    sql: nodeConnection(db),
    orm: orm as unknown as DriverConnection["orm"],
    close: () => db.close(),
  };
}

function nodeConnection(db: DatabaseSync): SqlConnection {
  const cache = new Map<string, SqlStatement>();
  let depth = 0;
  return {
    prepare<Row>(sql: string): SqlStatement<Row> {
      let statement = cache.get(sql);
      if (!statement) {
        const s = db.prepare(sql);
        let arrays: StatementSync | undefined;
        statement = {
          values: (...p: SqlValue[]) => {
            if (!arrays) {
              arrays = db.prepare(sql);
              arrays.setReturnArrays(true);
            }
            return arrays.all(...bindable(p)) as unknown as SqlValue[][];
          },
          all: (...p: SqlValue[]) => s.all(...bindable(p)),
          get: (...p: SqlValue[]) => s.get(...bindable(p)) ?? undefined,
          run: (...p: SqlValue[]) => ({ changes: Number(s.run(...bindable(p)).changes) }),
          iterate: (...p: SqlValue[]) => s.iterate(...bindable(p)),
        } as SqlStatement;
        cache.set(sql, statement);
      }
      return statement as SqlStatement<Row>;
    },
    exec: (sql) => db.exec(sql),
    transaction<T>(fn: () => T): T {
      // Nested in an open transaction: a savepoint, as bun:sqlite's wrapper does.
      const nested = db.isTransaction;
      const savepoint = `kg_sp${depth}`;
      db.exec(nested ? `SAVEPOINT ${savepoint}` : "BEGIN IMMEDIATE");
      depth++;
      try {
        const result = fn();
        db.exec(nested ? `RELEASE ${savepoint}` : "COMMIT");
        return result;
      } catch (error) {
        // Unless SQLite has ended the whole transaction itself (a full disk): nothing to undo.
        if (db.isTransaction)
          db.exec(nested ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : "ROLLBACK");
        throw error;
      } finally {
        depth--;
      }
    },
    inTransaction: () => db.isTransaction,
    isSqliteError: (error) => (error as { code?: unknown } | null)?.code === "ERR_SQLITE_ERROR",
    dataVersion: () =>
      Number((db.prepare("PRAGMA data_version").get() as { data_version: number }).data_version),
    close: () => db.close(),
  };
}

/** The SQLite driver on Bun: bun:sqlite, with drizzle's bun-sqlite driver over it. */
import { Database, SQLiteError, type Statement } from "bun:sqlite";
import { drizzle } from "drizzle-orm/bun-sqlite";
import type { DriverConnection, OpenDriverOptions } from "./driver.ts";
import * as schema from "./schema.ts";
import type { SqlConnection, SqlStatement, SqlValue } from "./sql.ts";

/** Opens `path` (created if missing; with `readOnly`, only if it exists) with bun:sqlite. */
export function openDriver(path: string, options: OpenDriverOptions = {}): DriverConnection {
  const db = options.readOnly
    ? new Database(path, { readonly: true, strict: true })
    : new Database(path, { create: true, strict: true });
  return {
    sql: bunConnection(db),
    orm: drizzle({ client: db, schema }) as unknown as DriverConnection["orm"],
    close: () => db.close(),
  };
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
    // bun:sqlite's wrapper undoes a failed transaction or savepoint only if SQLite has not
    // ended the transaction itself already.
    transaction: <T>(fn: () => T): T => immediate(fn) as T,
    inTransaction: () => db.inTransaction,
    isSqliteError: (error) => error instanceof SQLiteError,
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
    values: statement.values.bind(statement) as SqlStatement<Row>["values"],
    iterate: statement.iterate.bind(statement) as SqlStatement<Row>["iterate"],
  };
}

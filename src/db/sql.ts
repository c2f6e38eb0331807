/**
 * The driver-neutral SQL surface the store and projections use. Only `src/db/` knows
 * which SQLite driver sits behind it (bun:sqlite on Bun; node:sqlite on Deno later).
 *
 * Hot write paths (append, inline projections, rebuild) use these prepared statements
 * directly: drizzle's query builder costs several microseconds per call, which matters at
 * tens of thousands of appends per second. Schema and migrations stay with drizzle.
 */

/** A value SQLite can bind. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

/** A prepared statement with positional parameters. */
export interface SqlStatement<Row = Record<string, unknown>> {
  /** Every row. */
  all(...params: SqlValue[]): Row[];
  /** The first row, or undefined. */
  get(...params: SqlValue[]): Row | undefined;
  /** Executes and returns the number of rows changed. */
  run(...params: SqlValue[]): { changes: number };
  /** Every row as an array of its column values, in the SELECT's order (no per-row object). */
  values(...params: SqlValue[]): SqlValue[][];
  /** Streams rows one at a time, for scans that must stay in constant memory. */
  iterate(...params: SqlValue[]): IterableIterator<Row>;
}

/** A synchronous SQLite connection. */
export interface SqlConnection {
  /** Prepares (and caches) a statement. */
  prepare<Row = Record<string, unknown>>(sql: string): SqlStatement<Row>;
  /** Runs one or more statements with no parameters. */
  exec(sql: string): void;
  /**
   * Runs `fn` in one transaction that takes the write lock at once (BEGIN IMMEDIATE),
   * committing when it returns and rolling back when it throws. Nested calls become
   * savepoints. `fn` must be synchronous: a promise it returns is not awaited.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Whether a transaction is open. SQLite ends a whole transaction by itself on some errors
   * (a full disk, an I/O error, out of memory), savepoints and all: this is how to tell.
   */
  inTransaction(): boolean;
  /**
   * Whether `error` is SQLite's own (a full disk, an I/O error, a constraint, a busy lock),
   * not one the caller's code threw.
   */
  isSqliteError(error: unknown): boolean;
  /** SQLite's data_version: changes when another connection commits to the file. */
  dataVersion(): number;
  /** Closes the connection. */
  close(): void;
}

/**
 * Whether the database `sql` opens has the table `name` (one that a migration not yet applied
 * makes may be missing).
 */
export function hasTable(sql: SqlConnection, name: string): boolean {
  return (
    sql.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
    undefined
  );
}

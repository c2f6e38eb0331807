/**
 * The SQLite driver for the runtime: bun:sqlite on Bun, node:sqlite elsewhere (Deno). Every
 * driver import stays in `src/db/`; the rest of Keygate sees only {@link DriverConnection}.
 */
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema.ts";
import type { SqlConnection } from "./sql.ts";

/** drizzle over a synchronous SQLite driver, with Keygate's schema. */
export type KeygateOrm = BaseSQLiteDatabase<"sync", unknown, typeof schema>;

/** What a driver opens: the raw connection, drizzle over it, and how to close it. */
export interface DriverConnection {
  sql: SqlConnection;
  orm: KeygateOrm;
  close(): void;
}

/** How {@link openDriver} opens a file. */
export interface OpenDriverOptions {
  /** Opens an existing file for reading only: no write, not even a checkpoint of its WAL. */
  readOnly?: boolean;
}

/** Opens a database file (or ":memory:") with the runtime's driver. */
export const openDriver: (path: string, options?: OpenDriverOptions) => DriverConnection = (
  "Bun" in globalThis ? await import("./bun-sqlite.ts") : await import("./node-sqlite.ts")
).openDriver;

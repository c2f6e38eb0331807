/**
 * Applies the migrations embedded in `migrations.generated.ts` (the SQL of `drizzle/`) through
 * drizzle's own migrator, exactly as `migrate(db, { migrationsFolder })` would from the folder:
 * same statements, same hashes, same `__drizzle_migrations` bookkeeping — but with nothing to
 * read from disk, so a compiled binary carries its schema with it.
 */
import { createHash } from "node:crypto";
import type { EmbeddedMigration } from "./embed-migrations.ts";
import { MIGRATIONS } from "./migrations.generated.ts";

/** What drizzle's SQLite dialect takes (its `MigrationMeta`). */
interface MigrationMeta {
  sql: string[];
  bps: boolean;
  folderMillis: number;
  hash: string;
}

/** The embedded migrations in the form drizzle's migrator reads them from a folder. */
export function migrationMeta(
  migrations: readonly EmbeddedMigration[] = MIGRATIONS,
): MigrationMeta[] {
  return migrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
}

/** A drizzle SQLite database, seen through the fields its migrators use. */
interface MigratableDatabase {
  dialect: { migrate(migrations: MigrationMeta[], session: unknown, config: object): void };
  session: unknown;
}

/** Applies every embedded migration not yet applied to `orm`. */
export function applyMigrations(orm: object): void {
  const db = orm as MigratableDatabase;
  db.dialect.migrate(migrationMeta(), db.session, {});
}

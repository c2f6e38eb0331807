/**
 * Applies the migrations embedded in `migrations.generated.ts` (the SQL of `drizzle/`) through
 * drizzle's own migrator, exactly as `migrate(db, { migrationsFolder })` would from the folder:
 * same statements, same hashes, same `__drizzle_migrations` bookkeeping — but with nothing to
 * read from disk, so a compiled binary carries its schema with it.
 */
import { createHash } from "node:crypto";
import type { EmbeddedMigration } from "./embed-migrations.ts";
import { MIGRATIONS } from "./migrations.generated.ts";
import { hasTable, type SqlConnection } from "./sql.ts";

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

/** Applies every migration of `migrations` (default: all embedded) not yet applied to `orm`. */
export function applyMigrations(
  orm: object,
  migrations: readonly EmbeddedMigration[] = MIGRATIONS,
): void {
  const db = orm as MigratableDatabase;
  db.dialect.migrate(migrationMeta(migrations), db.session, {});
}

/**
 * Why this Keygate must not run on the database, or undefined: a migration recorded in it newer
 * than every one this build carries — the database was migrated by a newer Keygate (a
 * downgrade). drizzle's migrator would apply nothing and carry on, and this build would then
 * read and write tables whose shape it does not know.
 */
export function newerSchemaProblem(
  sql: SqlConnection,
  migrations: readonly EmbeddedMigration[] = MIGRATIONS,
): string | undefined {
  if (!hasTable(sql, "__drizzle_migrations")) return undefined;
  const newest = Math.max(0, ...migrations.map((m) => m.when));
  const unknown = sql
    .prepare<{ count: number; latest: number | null }>(
      "SELECT COUNT(*) AS count, MAX(created_at) AS latest FROM __drizzle_migrations WHERE created_at > ?",
    )
    .get(newest);
  if (!unknown || unknown.count === 0) return undefined;
  return `it was migrated by a newer Keygate (${unknown.count} schema migration${unknown.count === 1 ? "" : "s"} this version does not know, the newest from ${new Date(Number(unknown.latest)).toISOString()}); run that version, or restore a backup taken before the upgrade`;
}

/**
 * The tags of the migrations of `migrations` (default: all embedded) that the database `sql`
 * opens has not had applied yet, in order: what opening it for serving would apply first.
 * drizzle's migrator applies those newer than the newest it recorded.
 */
export function pendingMigrations(
  sql: SqlConnection,
  migrations: readonly EmbeddedMigration[] = MIGRATIONS,
): string[] {
  const newest = hasTable(sql, "__drizzle_migrations")
    ? (sql
        .prepare<{ latest: number | null }>(
          "SELECT MAX(created_at) AS latest FROM __drizzle_migrations",
        )
        .get()?.latest ?? 0)
    : 0;
  return migrations.filter((m) => m.when > Number(newest)).map((m) => m.tag);
}

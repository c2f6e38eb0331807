/**
 * The embedded migrations (src/db/migrations.generated.ts) are exactly drizzle/'s, and a
 * database made by an earlier build migrates with its data.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeygateEvent } from "../../events/index.ts";
import { openDriver } from "../../src/db/driver.ts";
import { generatedModule, readMigrations } from "../../src/db/embed-migrations.ts";
import { applyMigrations } from "../../src/db/migrate.ts";
import { MIGRATIONS } from "../../src/db/migrations.generated.ts";
import { openDatabase } from "../../src/db/open.ts";
import { EventStore } from "../../src/store/event-store.ts";
import { STREAM_DOES_NOT_EXIST } from "../../src/store/expected-version.ts";
import { TEST_ACTOR } from "../support/keygate.ts";

const entityCreated = (id: string): KeygateEvent => ({
  type: "entity.created",
  data: { entity_id: id, kind: "merchant", name: "Acme", parent_id: null, reference: null },
});

test("src/db/migrations.generated.ts matches drizzle/ (run `bun run db:generate` after a schema change)", async () => {
  const committed = await Bun.file(
    `${import.meta.dir}/../../src/db/migrations.generated.ts`,
  ).text();
  expect(committed).toBe(generatedModule(readMigrations()));
});

test("a database made before streams lost their rowid is migrated with its streams, and appends go on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "keygate-migrate-"));
  try {
    const path = join(dir, "old.sqlite");
    const old = openDriver(path);
    const before = MIGRATIONS.findIndex((m) => m.tag === "0009_streams_without_rowid");
    applyMigrations(old.orm, MIGRATIONS.slice(0, before));
    old.sql
      .prepare("INSERT INTO streams (stream_id, version, updated_at) VALUES (?, ?, ?), (?, ?, ?)")
      .run("key_a", 3, "2026-01-01T00:00:00.000Z", "ent_b", 1, "2026-01-02T00:00:00.000Z");
    old.close();

    const db = openDatabase(path);
    try {
      const table = db.sql
        .prepare<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'streams'")
        .get();
      expect(table?.sql).toContain("WITHOUT ROWID");
      expect(db.sql.prepare("SELECT * FROM streams ORDER BY stream_id").all()).toEqual([
        { stream_id: "ent_b", version: 1, updated_at: "2026-01-02T00:00:00.000Z" },
        { stream_id: "key_a", version: 3, updated_at: "2026-01-01T00:00:00.000Z" },
      ]);
      const store = new EventStore(db.sql);
      const claim = { expectedStreamVersion: STREAM_DOES_NOT_EXIST, metadata: TEST_ACTOR } as const;
      store.appendToStream("ent_new", [entityCreated("ent_new")], claim);
      // The primary key still refuses a stream that exists: what claims a new one.
      expect(() => store.appendToStream("ent_new", [entityCreated("ent_new")], claim)).toThrow(
        expect.objectContaining({ code: "resource_conflict" }),
      );
      expect(() => store.appendToStream("key_a", [entityCreated("key_a")], claim)).toThrow(
        expect.objectContaining({ code: "resource_conflict" }),
      );
      expect(
        db.sql.prepare("SELECT version FROM streams WHERE stream_id = 'ent_new'").get(),
      ).toEqual({ version: 1 });
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

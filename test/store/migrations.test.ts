/** The embedded migrations (src/db/migrations.generated.ts) are exactly drizzle/'s. */
import { expect, test } from "bun:test";
import { generatedModule, readMigrations } from "../../src/db/embed-migrations.ts";

test("src/db/migrations.generated.ts matches drizzle/ (run `bun run db:generate` after a schema change)", async () => {
  const committed = await Bun.file(
    `${import.meta.dir}/../../src/db/migrations.generated.ts`,
  ).text();
  expect(committed).toBe(generatedModule(readMigrations()));
});

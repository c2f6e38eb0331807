import { defineConfig } from "drizzle-kit";

/** drizzle-kit settings: `bun run db:generate` writes SQL migrations into drizzle/. */
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});

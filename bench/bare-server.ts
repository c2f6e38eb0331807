/**
 * The baseline: bare Elysia routes, served the same way Keygate is (Bun, one process) — a
 * GET, and a POST that parses its JSON body, with nothing else.
 */
import { Elysia } from "elysia";

const port = Number(process.env.PORT ?? 0);
const app = new Elysia()
  .get("/bare", () => ({ ok: true }))
  .post("/bare", ({ body }) => ({ ok: true, received: body }))
  .listen(port);
process.stdout.write(`listening on http://localhost:${app.server?.port}\n`);

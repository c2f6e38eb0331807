/**
 * The baseline: bare Elysia routes, served the same way Keygate is (Bun, one process) — a
 * GET, and a POST that parses its JSON body, with nothing else. With `SHAPE` (a file written
 * by {@link captureShape}), also `GET /shaped`: a fixed copy of a real Keygate response's
 * body and headers, returned the way Keygate's routes return theirs — the same bytes on the
 * wire with none of the work, so a ratio to it shows what the work costs.
 */
import { readFileSync } from "node:fs";
import { Elysia } from "elysia";

const port = Number(process.env.PORT ?? 0);
const shape = process.env.SHAPE
  ? (JSON.parse(readFileSync(process.env.SHAPE, "utf8")) as {
      body: unknown;
      headers: Record<string, string>;
    })
  : undefined;
const app = new Elysia()
  .get("/bare", () => ({ ok: true }))
  .post("/bare", ({ body }) => ({ ok: true, received: body }))
  .get("/shaped", ({ set }) => {
    Object.assign(set.headers, shape?.headers);
    return shape?.body;
  })
  .listen(port);
process.stdout.write(`listening on http://localhost:${app.server?.port}\n`);

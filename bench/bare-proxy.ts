/**
 * The floor of any proxy on Bun: a bare Elysia route that forwards every request to
 * `UPSTREAM` with `fetch` and returns its response — no authentication, no header work.
 * The gateway scenario measures it beside Keygate's gateway to show what proxying itself costs.
 */
import { Elysia } from "elysia";

const upstream = process.env.UPSTREAM as string;
const app = new Elysia()
  .get("/bare", ({ request }) => fetch(`${upstream}/bare`, { headers: request.headers }))
  .listen(Number(process.env.PORT ?? 0));
process.stdout.write(`listening on http://localhost:${app.server?.port}\n`);

/** The baseline: a bare Elysia route, served the same way Keygate is (Bun, one process). */
import { Elysia } from "elysia";

const port = Number(process.env.PORT ?? 0);
const app = new Elysia().get("/bare", () => ({ ok: true })).listen(port);
process.stdout.write(`listening on http://localhost:${app.server?.port}\n`);

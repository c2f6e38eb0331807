/** Liveness and readiness routes. */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";

/** `GET /healthz` (the process answers) and `GET /readyz` (the database answers). */
export function healthRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      try {
        kg.db.sql.prepare("SELECT 1").get();
        return { status: "ready" };
      } catch {
        set.status = 503;
        return { status: "unavailable" };
      }
    });
}

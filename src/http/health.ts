/** Liveness and readiness routes. */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { documented } from "./openapi.ts";

/** `GET /healthz` (the process answers) and `GET /readyz` (the database answers). */
export function healthRoutes(kg: Keygate) {
  return new Elysia({ name: "keygate/health" })
    .get("/healthz", () => ({ status: "ok" }), {
      detail: documented({
        summary: "Liveness: the process answers",
        id: "getHealth",
        tag: "Health",
        returns: "Health",
        access: "public",
      }),
    })
    .get(
      "/readyz",
      ({ set }) => {
        try {
          kg.db.sql.prepare("SELECT 1").get();
          return { status: "ready" };
        } catch {
          set.status = 503;
          return { status: "unavailable" };
        }
      },
      {
        detail: documented({
          summary: "Readiness: the database answers (503 when it does not)",
          id: "getReadiness",
          tag: "Health",
          returns: "Health",
          access: "public",
          alsoAnswers: {
            "503": { description: "Not ready: the database does not answer", returns: "Health" },
          },
        }),
      },
    );
}

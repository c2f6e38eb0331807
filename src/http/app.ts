/** The HTTP application: every route module mounted on one Elysia instance. */
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { healthRoutes } from "./health.ts";

/** Builds the Keygate HTTP app over an open core (no port: tests call `app.handle`). */
export function createApp(kg: Keygate) {
  return new Elysia({ name: "keygate" }).use(healthRoutes(kg));
}

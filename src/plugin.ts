/**
 * Keygate inside your own Elysia app (no gateway, no management server): one plugin that
 * brings request ids and the error envelope, Idempotency-Key recording, and the `scopes`
 * route option (authentication → entity → rate limit → idempotency). Every route after it
 * declares `scopes` or `public: true`, or is never served (src/auth/access-rule.ts). The
 * package's entry point (`import { keygate } from "keygate"`); see `examples/`.
 *
 * @example
 * ```ts
 * const kg = openKeygate(loadConfig());
 * new Elysia()
 *   .use(keygate(kg))
 *   .get("/links", ({ identity }) => listLinks(identity.entity.id), { scopes: ["links:read"] })
 *   .get("/health", () => "ok", { public: true })
 *   .listen(4000);
 * ```
 */
import { Elysia } from "elysia";
import { type BackgroundWork, startBackgroundWork } from "./app/background-work.ts";
import type { Keygate } from "./app/keygate.ts";
import { accessRules, requireAccessRules } from "./auth/access-rule.ts";
import { keygateGuard } from "./http/guard.ts";
import {
  type InternalErrorReporter,
  reportToStderr,
  requestContext,
} from "./http/request-context.ts";
import { routeTableLearnedLater } from "./http/route-methods.ts";
import { idempotencyPlugin } from "./idempotency/index.ts";

export { startBackgroundWork } from "./app/background-work.ts";
export { type Keygate, openKeygate } from "./app/keygate.ts";
export type { Identity } from "./auth/identity.ts";
export { loadConfig } from "./config/config.ts";
export { KeygateError } from "./errors/keygate-error.ts";

/**
 * The Keygate plugins for an app of your own, in the order they must run. When the app listens
 * it also starts Keygate's background work (src/app/background-work.ts: seeing keys revoked by
 * other processes, writing last-used times, destroying expired results' data keys, signing
 * checkpoints), and stops it when the app stops. An app that serves `app.fetch` itself, so
 * that Elysia's start and stop hooks never run, calls {@link startBackgroundWork} instead.
 */
export function keygate(kg: Keygate, options: { reportInternal?: InternalErrorReporter } = {}) {
  const report = options.reportInternal ?? reportToStderr;
  let work: BackgroundWork | undefined;
  // The app's routes are known once it starts: from then on a 404 names what a path takes.
  const routeTable = routeTableLearnedLater();
  return new Elysia({ name: "keygate/plugin" })
    .onStart((app) => {
      requireAccessRules(app.routes);
      routeTable.learn(app.routes);
      work ??= startBackgroundWork(kg, report);
    })
    .onStop(async () => {
      await work?.stop();
      work = undefined;
    })
    .use(requestContext(kg.config.errorCodes, report, undefined, kg.metrics, routeTable.methodsAt))
    .use(idempotencyPlugin(kg, report))
    .use(keygateGuard(kg))
    .use(accessRules());
}

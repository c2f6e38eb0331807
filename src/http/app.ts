/** The HTTP application: the request context, then every route module. */
import { setImmediate } from "node:timers";
import { Elysia } from "elysia";
import type { Keygate } from "../app/keygate.ts";
import { forwardAuthRoutes } from "../gateway/forward-auth.ts";
import { gatewayRoutes, gatewayRouteTest } from "../gateway/index.ts";
import { idempotencyPlugin } from "../idempotency/index.ts";
import { metricsRoutes } from "../metrics/index.ts";
import type { ScryptCost } from "../users/password.ts";
import { bodyLimits } from "./body-limits.ts";
import { healthRoutes } from "./health.ts";
import { openapiRoute } from "./openapi.ts";
import {
  type AccessLogEntry,
  type AccessLogger,
  type InternalErrorReporter,
  reportToStderr,
  requestContext,
} from "./request-context.ts";
import { requestParams } from "./request-params.ts";
import { routerHandlerOptions } from "./request-target.ts";
import { routeTableLearnedLater } from "./route-methods.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { auditRoutes } from "./routes/audit.ts";
import { entityRoutes } from "./routes/entities.ts";
import { eventRoutes } from "./routes/events.ts";
import { meRoutes } from "./routes/me.ts";
import { userRoutes } from "./routes/users.ts";
import { verifyRoutes } from "./routes/verify.ts";
import { refuseRulesWithoutRoute } from "./rules-without-route.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Where unexpected (5xx) errors are reported; default: stderr. */
  reportInternal?: InternalErrorReporter;
  /** scrypt cost for new passwords (tests lower it). */
  passwordCost?: ScryptCost;
  /** Where access-log entries go; default: one JSON line each on stdout. `false`: nowhere. */
  accessLog?: AccessLogger | false;
}

/** An access logger that buffers its lines, and writes what it holds on `flush()`. */
export type BufferedAccessLogger = AccessLogger & { flush(): void };

/**
 * Access-log lines go to stdout in one write per turn of the event loop, not one per request:
 * under load that is one system call for many requests. `flush()` writes what is pending at
 * once (at shutdown, so the last requests' lines are not lost).
 *
 * If stdout goes away (the process reading it — `| tee`, a log shipper — exits: EPIPE), the
 * lines are dropped from then on and that is said once on stderr: the server keeps
 * authenticating rather than dying with its log reader.
 */
export function stdoutAccessLog(): BufferedAccessLogger {
  let pending: string[] = [];
  let closed = false;
  const close = (error: unknown) => {
    if (closed) return;
    closed = true;
    pending = [];
    reportToStderr(
      new Error("stdout cannot be written: the access log is dropped from now on", {
        cause: error,
      }),
    );
  };
  // A failed write throws, or (written asynchronously) is an "error" event: both end here.
  process.stdout.on("error", close);
  const flush = () => {
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    try {
      process.stdout.write(lines.join(""));
    } catch (error) {
      close(error);
    }
  };
  const log = (entry: AccessLogEntry) => {
    if (closed) return;
    if (pending.length === 0) setImmediate(flush);
    pending.push(`${JSON.stringify(entry)}\n`);
  };
  return Object.assign(log, { flush });
}

/** Builds the Keygate HTTP app over an open core (no port: tests call `app.handle`). */
export function createApp(kg: Keygate, options: AppOptions = {}) {
  const isGatewayRoute = gatewayRouteTest(kg);
  // The route table exists once every route is mounted, after the plugin that reads it.
  const routeTable = routeTableLearnedLater();
  // One router on every runtime, Elysia's: which route serves a request — its scopes, limits
  // and Idempotency-Key rule — is then the one forward-auth picks (route-finder.ts). Left to it,
  // Elysia hands Bun's server the routes without `*`, whose router ranks them otherwise.
  // Served over plain HTTP, the router finds a URL's path after "http://" whatever the host's
  // length, instead of assuming a host of four characters or more (request-target.ts).
  const router = routerHandlerOptions(kg.config.tls !== undefined);
  const app = new Elysia({
    name: "keygate",
    normalize: false,
    systemRouter: false,
    handler: router.handler,
  })
    .use(
      requestContext(
        kg.config.errorCodes,
        options.reportInternal ?? reportToStderr,
        options.accessLog === false ? undefined : (options.accessLog ?? stdoutAccessLog()),
        kg.metrics,
        routeTable.methodsAt,
        router.searchFrom,
      ),
    )
    .use(openapiRoute(kg))
    .use(bodyLimits(kg.config.gateway.maxBodyBytes, isGatewayRoute))
    .use(requestParams(isGatewayRoute))
    .use(idempotencyPlugin(kg, options.reportInternal, isGatewayRoute))
    .use(healthRoutes(kg))
    .use(metricsRoutes(kg))
    .use(meRoutes(kg))
    .use(apiKeyRoutes(kg))
    .use(entityRoutes(kg))
    .use(userRoutes(kg, options.passwordCost))
    .use(eventRoutes(kg))
    .use(auditRoutes(kg))
    .use(verifyRoutes(kg))
    .use(forwardAuthRoutes(kg, options.reportInternal))
    .use(gatewayRoutes(kg));
  routeTable.learn(app.routes);
  refuseRulesWithoutRoute(kg.config, app.routes);
  return app;
}

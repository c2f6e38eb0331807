/**
 * A method in the configuration (gateway routes, route policies, idempotency): one of the
 * methods an HTTP API is called with, in either case. Anything else — a typo such as `PSOT`,
 * or a method Bun's server refuses before any route is chosen — stops the start, rather than
 * leave a route that never matches.
 */
import { Type } from "@sinclair/typebox";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** The schema of a configured method; config.ts upper-cases it. */
export const HttpMethodSchema = Type.String({
  pattern: `^(?:${[...METHODS, ...METHODS.map((m) => m.toLowerCase())].join("|")})$`,
});

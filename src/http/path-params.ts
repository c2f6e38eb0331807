/**
 * Path parameters that do not decode. Elysia hands a route `null` for a segment whose
 * percent-encoding is broken (`/v1/api-keys/%ZZ`), which a route would otherwise look up and
 * answer "No such API key: null."; such a request is refused with 400 `invalid_request`
 * naming the parameter, on every route, before any route runs.
 */
import { Elysia } from "elysia";
import { invalidRequest } from "../errors/keygate-error.ts";

/** The path-parameter plugin; mount it before the routes. */
export function pathParams() {
  return new Elysia({ name: "keygate/path-params" }).onTransform({ as: "global" }, ({ params }) => {
    for (const name in params)
      if ((params as Record<string, unknown>)[name] === null)
        throw invalidRequest(`${name}: not valid percent-encoding.`, name);
  });
}

/**
 * How a field is named in every message, the HTTP envelope's `param` and the configuration's
 * errors alike: properties joined by dots, array items in brackets (`rate_limit.limit`,
 * `scopes[1]`, `gateway.routes[0].path`).
 */

/**
 * A schema issue's JSON Pointer (`/rate_limit/limit`, `/scopes/1`) as a field's name, the
 * pointer's escapes undone (`~1` is `/`, `~0` is `~`); "" for the whole value.
 */
export function fieldPath(pointer: string): string {
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (path && /^\d+$/.test(segment)) path += `[${segment}]`;
    else path += path ? `.${segment}` : segment;
  }
  return path;
}

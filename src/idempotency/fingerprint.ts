/**
 * A request's fingerprint: what makes a retry "the same request". SHA-256 over the method,
 * the path with its query string and the SHA-256 of the body bytes, each on its own line —
 * and, for a request acting for an entity other than its key's own (a gateway route's entity
 * selection, which a header can make), that entity's id on a fourth line.
 */
import { hash } from "node:crypto";

/** The path and query of a request URL (`http://h/v1/x?a=1` → `/v1/x?a=1`). */
export function pathWithQuery(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start === -1 ? "/" : url.slice(start);
}

/**
 * The hex SHA-256 fingerprint of a request; `actingFor`: the entity it acts for, when that is
 * not its key's own (left out otherwise, so the fingerprint is the three-line one).
 */
export function requestFingerprint(
  method: string,
  path: string,
  body: Uint8Array,
  actingFor?: string,
): string {
  const request = `${method}\n${path}\n${hash("sha256", body, "hex")}`;
  return hash("sha256", actingFor === undefined ? request : `${request}\n${actingFor}`, "hex");
}

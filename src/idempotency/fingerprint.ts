/**
 * A request's fingerprint: what makes a retry "the same request". SHA-256 over the method,
 * the path with its query string and the SHA-256 of the body bytes, each on its own line.
 */
import { hash } from "node:crypto";

/** The path and query of a request URL (`http://h/v1/x?a=1` → `/v1/x?a=1`). */
export function pathWithQuery(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start === -1 ? "/" : url.slice(start);
}

/** The hex SHA-256 fingerprint of a request. */
export function requestFingerprint(method: string, path: string, body: Uint8Array): string {
  return hash("sha256", `${method}\n${path}\n${hash("sha256", body, "hex")}`, "hex");
}

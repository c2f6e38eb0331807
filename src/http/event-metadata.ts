/** The metadata every event appended for an HTTP request carries: who, and which request. */
import { actorOf, type Identity } from "../auth/identity.ts";
import type { EventMetadata } from "../store/recorded-event.ts";

/** Metadata from the caller's identity and the response's request id. */
export function eventMetadata(
  identity: Identity,
  set: { headers: Record<string, unknown> },
): EventMetadata {
  return actorMetadata(actorOf(identity), set);
}

/** Metadata for an `actor` known without an identity (a user proving itself by password). */
export function actorMetadata(
  actor: string,
  set: { headers: Record<string, unknown> },
): EventMetadata {
  return { actor, request_id: String(set.headers["x-request-id"] ?? "") || null };
}

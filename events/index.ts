/**
 * The event catalogue: every event type Keygate writes, the union of them, and the two
 * checks the store runs — on append (current schema) and on read (upcast, then validate).
 */
import { type ApiKeyEvent, apiKeyEvents } from "./api-key.ts";
import type { EventDefinition } from "./define.ts";
import { type EntityEvent, entityEvents } from "./entity.ts";
import { type IdempotencyEvent, idempotencyEvents } from "./idempotency.ts";
import { type UserEvent, userEvents } from "./user.ts";

export * from "./api-key.ts";
export * from "./entity.ts";
export * from "./idempotency.ts";
export * from "./user.ts";

/** Any event Keygate writes. */
export type KeygateEvent = EntityEvent | ApiKeyEvent | UserEvent | IdempotencyEvent;

/** Every event type name. */
export type KeygateEventType = KeygateEvent["type"];

/** Every definition, by type name. */
export const eventCatalogue: ReadonlyMap<string, EventDefinition> = new Map(
  [...entityEvents, ...apiKeyEvents, ...userEvents, ...idempotencyEvents].map((d) => [
    d.type,
    d as EventDefinition,
  ]),
);

/** Why an event failed its schema. */
export class EventSchemaError extends Error {
  override readonly name = "EventSchemaError";
}

function definitionOf(type: string): EventDefinition {
  const definition = eventCatalogue.get(type);
  if (!definition) throw new EventSchemaError(`unknown event type "${type}"`);
  return definition;
}

function check(definition: EventDefinition, version: number, data: unknown): void {
  const checker = definition.checkers.get(version);
  if (!checker) {
    throw new EventSchemaError(`${definition.type} has no schema version ${version}`);
  }
  if (!checker.Check(data)) {
    const first = checker.Errors(data).First();
    const where = first?.path || "/";
    throw new EventSchemaError(
      `${definition.type} v${version}: ${where}: ${first?.message ?? "does not match its schema"}`,
    );
  }
}

/** The schema version new events of `type` are written with. */
export function currentSchemaVersion(type: string): number {
  return definitionOf(type).schemaVersion;
}

/** Checks data about to be appended against the current schema of its type. */
export function validateForAppend(type: string, data: unknown): void {
  const definition = definitionOf(type);
  check(definition, definition.schemaVersion, data);
}

/**
 * Checks stored data against the schema of the version it was written with, then upcasts
 * it step by step to the current version (validating each step's result).
 */
export function upcastStoredEvent(type: string, version: number, data: unknown): unknown {
  const definition = definitionOf(type);
  check(definition, version, data);
  let current = data as Record<string, unknown>;
  for (let v = version; v < definition.schemaVersion; v++) {
    const upcast = definition.upcasters.get(v);
    if (!upcast) throw new EventSchemaError(`${type}: no upcaster from version ${v}`);
    current = upcast(current);
    check(definition, v + 1, current);
  }
  return current;
}

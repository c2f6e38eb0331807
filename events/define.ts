/**
 * How an event type is declared: a type name, the current schema version and its TypeBox
 * schema, plus the older versions a reader may still meet and how to upcast each one to
 * the next. Validation is compiled once per schema.
 */
import type { Static, TObject, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";

/** An older schema version of an event and the function that lifts its data one version up. */
export interface LegacySchema {
  /** The old version number. */
  version: number;
  /** The schema data of that version has. */
  schema: TSchema;
  /** Turns data of `version` into data of `version + 1`. */
  upcast: (data: Record<string, unknown>) => Record<string, unknown>;
}

/** A declared event type. */
export interface EventDefinition<T extends string = string, S extends TObject = TObject> {
  /** The event type name, e.g. `api_key.created`. */
  type: T;
  /** The schema version new events are written with. */
  schemaVersion: number;
  /** The schema of the current version. */
  schema: S;
  /** Compiled checkers by version, current and legacy. */
  checkers: ReadonlyMap<number, TypeCheck<TSchema>>;
  /** Upcasters by the version they read. */
  upcasters: ReadonlyMap<number, LegacySchema["upcast"]>;
}

/** The `{ type, data }` pair of a definition. */
export type EventOf<D> =
  D extends EventDefinition<infer T, infer S> ? { type: T; data: Static<S> } : never;

/** Declares an event type with its current schema and any legacy versions. */
export function defineEvent<T extends string, S extends TObject>(
  type: T,
  schemaVersion: number,
  schema: S,
  legacy: LegacySchema[] = [],
): EventDefinition<T, S> {
  const checkers = new Map<number, TypeCheck<TSchema>>([
    [schemaVersion, TypeCompiler.Compile(schema)],
  ]);
  const upcasters = new Map<number, LegacySchema["upcast"]>();
  for (const old of legacy) {
    if (old.version >= schemaVersion)
      throw new Error(`${type}: legacy version ${old.version} is not older`);
    checkers.set(old.version, TypeCompiler.Compile(old.schema));
    upcasters.set(old.version, old.upcast);
  }
  return { type, schemaVersion, schema, checkers, upcasters };
}

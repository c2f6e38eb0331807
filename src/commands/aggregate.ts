/**
 * How every change to an existing aggregate runs: read its stream, fold the aggregate's own
 * events into its state, decide, and append what was decided expecting the version that was
 * read — so a change made in between is refused as stale, never overwritten.
 */
import type { KeygateEvent } from "../../events/index.ts";
import type { Keygate } from "../app/keygate.ts";
import type { EventMetadata } from "../store/recorded-event.ts";

/** One aggregate's pure decider, and which events of its stream are its own. */
export interface Aggregate<C, E extends KeygateEvent, S> {
  isOwn(event: { type: string }): event is E;
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState: S;
}

/** An aggregate's state as its stream tells it, and the stream's version (0: no stream). */
export interface Loaded<S> {
  state: S;
  version: number;
}

/** Reads the stream `streamId` into the aggregate's state. */
export function loadAggregate<C, E extends KeygateEvent, S>(
  kg: Keygate,
  streamId: string,
  aggregate: Aggregate<C, E, S>,
): Loaded<S> {
  return kg.store.aggregateStream(
    streamId,
    (state, event) => (aggregate.isOwn(event) ? aggregate.evolve(state, event) : state),
    aggregate.initialState,
  );
}

/**
 * Decides `command` on the aggregate's state and appends the events, expecting the version
 * the state was read at. `loaded`: the state already read (by a caller that needed it first).
 */
export function decideAndAppend<C, E extends KeygateEvent, S>(
  kg: Keygate,
  streamId: string,
  aggregate: Aggregate<C, E, S>,
  command: C,
  metadata: EventMetadata,
  loaded: Loaded<S> = loadAggregate(kg, streamId, aggregate),
): void {
  const events = aggregate.decide(command, loaded.state);
  kg.store.appendToStream(streamId, events, { expectedStreamVersion: loaded.version, metadata });
}

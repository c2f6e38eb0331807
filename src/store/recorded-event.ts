/** The shape of an event once it is in the log. */
import type { KeygateEvent } from "../../events/index.ts";

/** Who caused an event and in answer to which request. */
export interface EventMetadata {
  /** `cli`, `system`, a key id (`key_…`) or a user id (`usr_…`). */
  actor: string;
  /** The request id (`req_…`) when the event came from an HTTP request. */
  request_id: string | null;
}

/** An event as read back from the log, its data upcast to the current schema. */
export type RecordedEvent<E extends KeygateEvent = KeygateEvent> = E & {
  position: number;
  streamId: string;
  streamVersion: number;
  schemaVersion: number;
  metadata: EventMetadata;
  recordedAt: string;
  prevHash: string;
  hash: string;
};

/** A projection the store runs inside the append transaction. */
export interface InlineProjection {
  /** A stable name, the key of its row in projection_state. */
  readonly name: string;
  /** Bumped when the projection's logic or tables change; a mismatch triggers a rebuild. */
  readonly version: number;
  /** The tables this projection owns (emptied by a rebuild). */
  readonly tables: readonly string[];
  /** Applies one event. Throwing aborts the whole append. */
  apply(event: RecordedEvent): void;
}

/**
 * Optimistic concurrency for appends, after Emmett's expectedVersion.ts: the caller states
 * what it believes the stream's version is, and a stale belief is refused.
 */
import { KeygateError } from "../errors/keygate-error.ts";

/** The stream must already hold at least one event. */
export const STREAM_EXISTS = "STREAM_EXISTS";
/** The stream must not exist yet. */
export const STREAM_DOES_NOT_EXIST = "STREAM_DOES_NOT_EXIST";
/** Append whatever the stream's version. */
export const NO_CONCURRENCY_CHECK = "NO_CONCURRENCY_CHECK";

/** What an append expects: an exact version (0 = empty stream) or one of the three modes. */
export type ExpectedStreamVersion =
  | number
  | typeof STREAM_EXISTS
  | typeof STREAM_DOES_NOT_EXIST
  | typeof NO_CONCURRENCY_CHECK;

/** Throws a `resource_conflict` error unless `current` (undefined = no stream) meets `expected`. */
export function assertExpectedVersion(
  streamId: string,
  current: number | undefined,
  expected: ExpectedStreamVersion,
): void {
  const ok =
    expected === NO_CONCURRENCY_CHECK ||
    (expected === STREAM_EXISTS && current !== undefined) ||
    (expected === STREAM_DOES_NOT_EXIST && current === undefined) ||
    (typeof expected === "number" && (current ?? 0) === expected);
  if (!ok) {
    throw new KeygateError(
      "resource_conflict",
      `Stream ${streamId} is at version ${current ?? "none"}, expected ${expected}; reload and retry.`,
    );
  }
}

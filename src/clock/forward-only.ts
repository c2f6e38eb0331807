/**
 * A clock for counting windows that never runs backwards. The wall clock can be stepped back
 * (an administrator, or NTP correcting a large offset); a limiter reading it would then find
 * itself in a window it has already left, with no counts, and grant a fresh allowance. This
 * one goes on from its latest reading at the wall clock's pace instead: after the wall clock
 * steps back by D it stays D ahead of it for good, so a window keeps its counts and ends when
 * its length has passed. A step forward counts as time passing.
 */

/**
 * Milliseconds since the epoch by `now`, except that a reading earlier than the one before is
 * moved up to it, and every later reading by as much: the returned function never goes back.
 */
export function forwardOnly(now: () => Date): () => number {
  let lead = 0;
  let latest = Number.NEGATIVE_INFINITY;
  return () => {
    let ms = now().getTime() + lead;
    if (ms < latest) {
      lead += latest - ms;
      ms = latest;
    }
    latest = ms;
    return ms;
  };
}

/** Test help for work that must not hold the event loop. */

/**
 * Starts `work` and counts the turns the event loop makes until it settles: 0 when it held
 * the loop from start to end (synchronous work dressed as a promise), more when requests could
 * have been served meanwhile.
 */
export async function turnsWhile<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let working = true;
  const turn = () => {
    turns++;
    if (working) setImmediate(turn);
  };
  setImmediate(turn);
  try {
    const result = await work();
    return { result, turns };
  } finally {
    working = false;
  }
}

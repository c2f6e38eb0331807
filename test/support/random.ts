/**
 * A small seeded random generator (mulberry32) for randomised tests: a failing run is
 * replayed from the seed its test names.
 */

/** Draws from a generator seeded with `seed`. */
export interface Random {
  /** An integer from 0 to `below` − 1. */
  int(below: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One of `items`, which must not be empty. */
  pick<T>(items: readonly T[]): T;
}

/** A generator that gives the same draws for the same seed. */
export function seededRandom(seed: number): Random {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (below) => Math.floor(next() * below),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
  };
}

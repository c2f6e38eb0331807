/**
 * A map that keeps its most recently used entries: bounded by a number of entries and,
 * optionally, by a total weight (bytes, say). Adding past a bound drops the least recently
 * used entries first. Reading an entry with `get` makes it the most recently used.
 */

/** Options of an {@link LruMap}. */
export interface LruMapOptions<K, V> {
  /** Most entries held. */
  maxEntries: number;
  /** Most total weight held (with `weigh`). Default: no bound. */
  maxWeight?: number;
  /** An entry's weight. Default: 0. */
  weigh?: (value: V) => number;
  /** Told of every entry dropped to stay within the bounds (not of `delete` or `clear`). */
  onEvict?: (key: K, value: V) => void;
}

/** A bounded least-recently-used map. */
export class LruMap<K, V> {
  /** In use order: least recently used first. */
  readonly #map = new Map<K, V>();
  readonly #maxEntries: number;
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;
  #weight = 0;

  constructor(options: LruMapOptions<K, V>) {
    this.#maxEntries = options.maxEntries;
    this.#maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#weigh = options.weigh ?? (() => 0);
    this.#onEvict = options.onEvict;
  }

  /** The value under `key`, now the most recently used; undefined if absent. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** Puts `value` under `key` as the most recently used, then drops what exceeds the bounds. */
  set(key: K, value: V): void {
    this.delete(key);
    this.#map.set(key, value);
    this.#weight += this.#weigh(value);
    for (const [oldest, oldValue] of this.#map) {
      if (this.#map.size <= this.#maxEntries && this.#weight <= this.#maxWeight) break;
      this.delete(oldest);
      this.#onEvict?.(oldest, oldValue);
    }
  }

  /** Removes `key`; returns the value it held, if any. */
  delete(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    this.#map.delete(key);
    this.#weight -= this.#weigh(value);
    return value;
  }

  /** Removes everything. */
  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }

  /** How many entries are held. */
  get size(): number {
    return this.#map.size;
  }

  /** Every entry, least recently used first (without marking any as used). */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}

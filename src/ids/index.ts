/**
 * Prefixed identifiers: `key_…`, `ent_…`, `usr_…`, `req_…`, `dk_…` (a result's data key).
 *
 * The body is 22 base62 characters: 7 encode the creation time in milliseconds (enough
 * until 62^7 ms ≈ the year 2081), then 15 random characters from nanoid (~89 bits). Time-ordered ids make every index keyed by
 * id grow at its tail, so appends that share a commit also share B-tree pages — ten times
 * the group-commit throughput of random ids on this project's benchmark machine — and list
 * cursors run in creation order. The creation time they reveal is public anyway
 * (`created_at`).
 */
import { customAlphabet } from "nanoid";

/** 0-9, A-Z, a-z: ids and key bodies use only these, so they survive a double-click. */
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The kinds of object that get an id, by prefix. */
export type IdPrefix = "key" | "ent" | "usr" | "req" | "dk";

const TIME_LENGTH = 7;
const randomPart = customAlphabet(BASE62, 15);

/** `ms` as fixed-width base62, so that string order is time order. */
export function encodeTime(ms: number): string {
  let out = "";
  let n = Math.floor(ms);
  for (let i = 0; i < TIME_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

// Ids minted in the same millisecond share their time part (every request gets an id).
let lastMs = Number.NaN;
let lastTime = "";

/** A fresh id such as `key_0Wq9Rb2…`, ordered by creation time. */
export function newId<P extends IdPrefix>(prefix: P, now: number = Date.now()): `${P}_${string}` {
  if (now !== lastMs) {
    lastMs = now;
    lastTime = encodeTime(now);
  }
  return `${prefix}_${lastTime}${randomPart()}`;
}

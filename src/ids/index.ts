/** Prefixed random identifiers: `key_…`, `ent_…`, `usr_…`, `req_…`. */
import { customAlphabet } from "nanoid";

/** 0-9, A-Z, a-z: ids and key bodies use only these, so they survive a double-click. */
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The kinds of object that get an id, by prefix. */
export type IdPrefix = "key" | "ent" | "usr" | "req";

// 22 base62 characters ≈ 131 bits: collisions are not a practical concern.
const body = customAlphabet(BASE62, 22);

/** A fresh id such as `key_3hT9…`. */
export function newId<P extends IdPrefix>(prefix: P): `${P}_${string}` {
  return `${prefix}_${body()}`;
}

/**
 * The hash chain: every event's hash is SHA-256 over the previous event's hash (lowercase
 * hex) followed by the event's canonical serialisation. docs/event-log.md states the rule
 * precisely so an auditor can recompute it in any language.
 */
import { hash } from "node:crypto";

/** The `prev_hash` of the first event: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit, no whitespace, strings as
 * JSON.stringify writes them. Only integers, well-formed strings (no unpaired surrogate: the
 * hash is over UTF-8, which has no form for one), booleans, null, arrays and objects may
 * appear; anything else is refused rather than serialised ambiguously.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return quoteWellFormed(value);
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`canonical JSON holds integers only, got ${value}`);
      }
      return String(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) out += (i ? "," : "") + canonicalJson(value[i]);
        return `${out}]`;
      }
      // Array.prototype.sort's default order compares UTF-16 code units: the canonical order.
      const record = value as Record<string, unknown>;
      let out = "{";
      for (const key of Object.keys(record).sort()) {
        const v = record[key];
        if (v === undefined) continue;
        out += `${out.length > 1 ? "," : ""}${quoteWellFormed(key)}:${canonicalJson(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

function quoteWellFormed(s: string): string {
  if (!s.isWellFormed())
    throw new TypeError(
      "canonical JSON holds well-formed strings only: one has an unpaired surrogate",
    );
  return JSON.stringify(s);
}

/** The fields of an event that its hash covers, `data` and `metadata` already canonical. */
export interface HashedFields {
  position: number;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  /** canonicalJson(data) */
  data: string;
  /** canonicalJson(metadata) */
  metadata: string;
  recordedAt: string;
}

/**
 * The canonical serialisation of an event: canonical JSON of the object with keys
 * data, metadata, position, recorded_at, schema_version, stream_id, stream_version, type
 * (already in sorted order), built by concatenation so verification needs no re-parse.
 */
export function canonicalEvent(e: HashedFields): string {
  return `{"data":${e.data},"metadata":${e.metadata},"position":${e.position},"recorded_at":${quote(e.recordedAt)},"schema_version":${e.schemaVersion},"stream_id":${quote(e.streamId)},"stream_version":${e.streamVersion},"type":${quote(e.type)}}`;
}

/** Printable ASCII but `"` and `\`: the strings JSON.stringify writes as they are. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON.stringify of a string, without the call for the ids and times that need no escape. */
const quote = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/** hash = SHA-256(prevHash ‖ canonicalEvent(e)), lowercase hex. */
export function chainHash(prevHash: string, e: HashedFields): string {
  return hash("sha256", prevHash + canonicalEvent(e), "hex");
}

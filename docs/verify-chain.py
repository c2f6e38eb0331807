#!/usr/bin/env python3
"""Recompute Keygate's hash chain from a database file, with only Python's standard library.

Usage: python3 docs/verify-chain.py ./data/keygate.sqlite
Prints "ok: N events, head <hash>" and exits 0, or names the first bad position and exits 1.
"""
import hashlib, json, sqlite3, sys

GENESIS = "0" * 64

def canonical(value):
    # Sorted keys, no whitespace, non-ASCII written as-is: the same bytes as Keygate's canonicalJson.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

def main(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    prev, count = GENESIS, 0
    rows = db.execute("SELECT position, stream_id, stream_version, type, schema_version, data,"
                      " metadata, recorded_at, prev_hash, hash FROM events ORDER BY position")
    for position, stream_id, version, type_, schema, data, metadata, recorded_at, prev_hash, hash_ in rows:
        count += 1
        event = {"data": json.loads(data), "metadata": json.loads(metadata), "position": position,
                 "recorded_at": recorded_at, "schema_version": schema, "stream_id": stream_id,
                 "stream_version": version, "type": type_}
        computed = hashlib.sha256((prev + canonical(event)).encode("utf-8")).hexdigest()
        problem = ("position is not contiguous" if position != count else
                   "prev_hash does not match the previous event's hash" if prev_hash != prev else
                   "hash does not match the recomputed hash" if hash_ != computed else None)
        if problem:
            print(f"bad event at position {position}: {problem}")
            return 1
        prev = hash_
    print(f"ok: {count} events, head {prev}")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

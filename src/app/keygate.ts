/**
 * The composition root: opens the database, wires the event store to its inline
 * projections and the hot key index, and brings stale projections up to date. The CLI,
 * the server and the tests all start Keygate through {@link openKeygate}.
 */
import type { KeygateConfig } from "../config/config.ts";
import { type KeygateDatabase, openDatabase } from "../db/open.ts";
import { KeyIndex } from "../projections/key-index.ts";
import { allProjections, ensureProjectionsCurrent } from "../projections/rebuild.ts";
import { EventStore } from "../store/event-store.ts";

/** A running Keygate core: everything a command or a request handler needs. */
export interface Keygate {
  config: KeygateConfig;
  db: KeygateDatabase;
  store: EventStore;
  keyIndex: KeyIndex;
  /** The clock every command reads. */
  now(): Date;
  /** Closes the database. */
  close(): void;
}

/** Options of {@link openKeygate}. */
export interface OpenKeygateOptions {
  /** The clock (tests inject one). */
  now?: () => Date;
}

/** Opens Keygate on the configured database. */
export function openKeygate(config: KeygateConfig, options: OpenKeygateOptions = {}): Keygate {
  const now = options.now ?? (() => new Date());
  const db = openDatabase(config.dbPath, { durability: config.durability });
  const projections = allProjections(db.sql);
  ensureProjectionsCurrent(db.sql, projections);
  const store = new EventStore(db.sql, { projections, now });
  const keyIndex = new KeyIndex(db.sql, store);
  return { config, db, store, keyIndex, now, close: () => db.close() };
}

/**
 * `keygate audit replay`: rebuilds every projection from the log into a scratch database and
 * compares it with the live one, table by table. Columns that are not derived from the log
 * (a rowid) are left out of the comparison; operational tables (last-used times, data keys)
 * are not projections and are not compared.
 *
 * The live database is read in one snapshot, from the copy of its log to the last comparison:
 * a server writing to it meanwhile (a key created during the replay) is not a difference.
 * Idempotent results are compared only while their window is open: the server's sweep forgets
 * an expired one's row, which the log still implies.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import type { SqlConnection } from "../db/sql.ts";
import { allProjections, rebuildProjections } from "../projections/rebuild.ts";

/** Columns that are not derived from the log: their values may differ after a rebuild. */
const NOT_DERIVED: Record<string, string[]> = { api_key_secrets: ["id"] };

/**
 * Rows compared, per table, where not all are: the condition holds at the time `?` (ms since
 * the epoch) on both sides.
 */
const COMPARED_ROWS: Record<string, string> = { idempotency_results: "expires_at > ?" };

/** How many differing rows are shown per table and side. */
const SHOWN = 5;

/** One table's differences. */
export interface TableDifference {
  table: string;
  /** Rows the log implies that the live table lacks or holds otherwise. */
  onlyInReplay: Record<string, unknown>[];
  /** Rows the live table holds that the log does not imply. */
  onlyInLive: Record<string, unknown>[];
}

/** What a replay found. */
export interface ReplayReport {
  events: number;
  tables: string[];
  differences: TableDifference[];
}

/**
 * A report as `audit replay --json` prints it and `GET /v1/audit/replay` answers it:
 * snake_case, as every object of the API.
 */
export function replayReportObject(report: ReplayReport) {
  return {
    object: "log_replay" as const,
    identical: report.differences.length === 0,
    events: report.events,
    tables: report.tables,
    differences: report.differences.map((d) => ({
      table: d.table,
      only_in_replay: d.onlyInReplay,
      only_in_live: d.onlyInLive,
    })),
  };
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function columnsOf(sql: SqlConnection, table: string): string[] {
  const skip = NOT_DERIVED[table] ?? [];
  return sql
    .prepare<{ name: string }>(`SELECT name FROM pragma_table_info(${`'${table}'`})`)
    .all()
    .map((c) => c.name)
    .filter((c) => !skip.includes(c));
}

function difference(sql: SqlConnection, table: string, from: string, minus: string, now: Date) {
  const columns = columnsOf(sql, table).map(quote).join(", ");
  const condition = COMPARED_ROWS[table];
  const where = condition === undefined ? "" : ` WHERE ${condition}`;
  return sql
    .prepare<Record<string, unknown>>(
      `SELECT ${columns} FROM ${from}.${quote(table)}${where} EXCEPT SELECT ${columns} FROM ${minus}.${quote(table)}${where} LIMIT ${SHOWN}`,
    )
    .all(...(condition === undefined ? [] : [now.getTime(), now.getTime()]));
}

/** Options of {@link replayAndCompare}. */
export interface ReplayOptions {
  /**
   * The clock that decides which idempotent results are still within their window: read once
   * the log is copied, so a sweep the copy saw ran no later than the time it gives.
   */
  now: () => Date;
  /** Where the scratch database goes (default: the system's temporary directory). */
  scratchDir?: string;
  /**
   * Called once the log is copied, before the rebuild: tests write to the live database there,
   * as a serving Keygate would.
   */
  onLogCopied?: () => void;
}

/** Replays the log of the database at `livePath` into a scratch copy and compares. */
export function replayAndCompare(livePath: string, options: ReplayOptions): ReplayReport {
  const scratchDir = options.scratchDir ?? tmpdir();
  const scratchPath = join(scratchDir, `keygate-replay-${process.pid}-${Date.now()}.sqlite`);
  const scratch = openDatabase(scratchPath);
  const { sql } = scratch;
  try {
    sql.exec(`ATTACH DATABASE '${livePath.replaceAll("'", "''")}' AS live`);
    // One deferred transaction: its first read of `live` takes the snapshot every later one
    // reads, and it writes to the scratch file alone, so the live one's writers never wait.
    // The rebuild's own transaction nests in it as a savepoint; nothing is kept at the end.
    sql.exec("BEGIN");
    try {
      sql.exec("INSERT INTO main.events SELECT * FROM live.events ORDER BY position");
      sql.exec("INSERT INTO main.streams SELECT * FROM live.streams");
      options.onLogCopied?.();
      const now = options.now();
      const projections = allProjections(sql);
      const rebuilt = rebuildProjections(sql, projections);
      const tables = projections.flatMap((p) => p.tables);
      const differences = tables
        .map((table) => ({
          table,
          onlyInReplay: difference(sql, table, "main", "live", now),
          onlyInLive: difference(sql, table, "live", "main", now),
        }))
        .filter((d) => d.onlyInReplay.length > 0 || d.onlyInLive.length > 0);
      return { events: rebuilt.events, tables, differences };
    } finally {
      if (sql.inTransaction()) sql.exec("ROLLBACK");
      sql.exec("DETACH DATABASE live");
    }
  } finally {
    scratch.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${scratchPath}${suffix}`, { force: true });
  }
}

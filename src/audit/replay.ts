/**
 * `keygate audit replay`: rebuilds every projection from the log into a scratch database and
 * compares it with the live one, table by table. Columns that are not derived from the log
 * (a rowid) are left out of the comparison; operational tables (last-used times, data keys)
 * are not projections and are not compared.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import type { SqlConnection } from "../db/sql.ts";
import { allProjections, rebuildProjections } from "../projections/rebuild.ts";

/** Columns that are not derived from the log: their values may differ after a rebuild. */
const NOT_DERIVED: Record<string, string[]> = { api_key_secrets: ["id"] };

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

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function columnsOf(sql: SqlConnection, table: string): string[] {
  const skip = NOT_DERIVED[table] ?? [];
  return sql
    .prepare<{ name: string }>(`SELECT name FROM pragma_table_info(${`'${table}'`})`)
    .all()
    .map((c) => c.name)
    .filter((c) => !skip.includes(c));
}

function difference(sql: SqlConnection, table: string, from: string, minus: string) {
  const columns = columnsOf(sql, table).map(quote).join(", ");
  return sql
    .prepare<Record<string, unknown>>(
      `SELECT ${columns} FROM ${from}.${quote(table)} EXCEPT SELECT ${columns} FROM ${minus}.${quote(table)} LIMIT ${SHOWN}`,
    )
    .all();
}

/** Replays the log of the database at `livePath` into a scratch copy and compares. */
export function replayAndCompare(livePath: string, scratchDir = tmpdir()): ReplayReport {
  const scratchPath = join(scratchDir, `keygate-replay-${process.pid}-${Date.now()}.sqlite`);
  const scratch = openDatabase(scratchPath);
  try {
    const { sql } = scratch;
    sql.exec(`ATTACH DATABASE '${livePath.replaceAll("'", "''")}' AS live`);
    sql.transaction(() => {
      sql.exec("INSERT INTO main.events SELECT * FROM live.events ORDER BY position");
      sql.exec("INSERT INTO main.streams SELECT * FROM live.streams");
    });
    const projections = allProjections(sql);
    const rebuilt = rebuildProjections(sql, projections);
    const tables = projections.flatMap((p) => p.tables);
    const differences = tables
      .map((table) => ({
        table,
        onlyInReplay: difference(sql, table, "main", "live"),
        onlyInLive: difference(sql, table, "live", "main"),
      }))
      .filter((d) => d.onlyInReplay.length > 0 || d.onlyInLive.length > 0);
    sql.exec("DETACH DATABASE live");
    return { events: rebuilt.events, tables, differences };
  } finally {
    scratch.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${scratchPath}${suffix}`, { force: true });
  }
}

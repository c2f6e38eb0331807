/**
 * `SqlConnection.transaction` on both drivers: bun:sqlite's own wrapper, and the one written
 * for node:sqlite (Deno's driver; Bun has node:sqlite too, so both run here).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { openDriver as openBun } from "../../src/db/bun-sqlite.ts";
import type { DriverConnection } from "../../src/db/driver.ts";
import { openDriver as openNode } from "../../src/db/node-sqlite.ts";
import type { SqlConnection } from "../../src/db/sql.ts";

const opened: DriverConnection[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

const DRIVERS: [string, (path: string) => DriverConnection][] = [
  ["bun:sqlite", openBun],
  ["node:sqlite", openNode],
];

function open(driver: (path: string) => DriverConnection): SqlConnection {
  const db = driver(":memory:");
  opened.push(db);
  db.sql.exec("CREATE TABLE t (v TEXT)");
  return db.sql;
}

const values = (sql: SqlConnection) =>
  sql
    .prepare<{ v: string }>("SELECT v FROM t ORDER BY rowid")
    .all()
    .map((r) => r.v);
const insert = (sql: SqlConnection, v: string) =>
  sql.prepare("INSERT INTO t (v) VALUES (?)").run(v);

for (const [name, driver] of DRIVERS) {
  describe(`transactions (${name})`, () => {
    test("a nested call is a savepoint: its failure undoes it alone", () => {
      const sql = open(driver);
      sql.transaction(() => {
        insert(sql, "outer");
        expect(() =>
          sql.transaction(() => {
            insert(sql, "inner");
            throw new Error("inner fails");
          }),
        ).toThrow("inner fails");
        expect(sql.inTransaction()).toBe(true);
      });
      expect(values(sql)).toEqual(["outer"]);
      expect(sql.inTransaction()).toBe(false);
    });

    test("when SQLite has ended the whole transaction itself, the caller gets the failure it met, and the connection goes on", () => {
      const sql = open(driver);
      expect(() =>
        sql.transaction(() => {
          insert(sql, "outer");
          sql.transaction(() => {
            insert(sql, "inner");
            sql.exec("ROLLBACK"); // as SQLite does on a full disk
            throw new Error("database or disk is full");
          });
        }),
      ).toThrow("database or disk is full");
      expect(sql.inTransaction()).toBe(false);
      expect(values(sql)).toEqual([]);
      // The next call is a transaction of its own again, and its nested call a savepoint.
      sql.transaction(() => {
        insert(sql, "after");
        expect(() =>
          sql.transaction(() => {
            insert(sql, "undone");
            throw new Error("no");
          }),
        ).toThrow("no");
      });
      expect(values(sql)).toEqual(["after"]);
    });

    test("a commit that fails is rolled back and leaves the connection as it was", () => {
      const sql = open(driver);
      sql.exec("PRAGMA foreign_keys = ON");
      sql.exec("CREATE TABLE parent (id TEXT PRIMARY KEY)");
      sql.exec(
        "CREATE TABLE child (parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
      );
      // A deferred foreign key is checked at COMMIT, which then fails.
      expect(() =>
        sql.transaction(() => {
          insert(sql, "kept?");
          sql.prepare("INSERT INTO child (parent) VALUES (?)").run("nobody");
        }),
      ).toThrow(/FOREIGN KEY/);
      expect(sql.inTransaction()).toBe(false);
      expect(values(sql)).toEqual([]);
      sql.transaction(() => insert(sql, "next"));
      expect(values(sql)).toEqual(["next"]);
      expect(sql.inTransaction()).toBe(false);
    });

    test("SQLite's own errors are told apart from the caller's", () => {
      const sql = open(driver);
      const thrown = (fn: () => void): unknown => {
        try {
          fn();
        } catch (error) {
          return error;
        }
        throw new Error("nothing was thrown");
      };
      expect(sql.isSqliteError(thrown(() => sql.exec("SELECT nonsense FROM nowhere")))).toBe(true);
      expect(sql.isSqliteError(thrown(() => sql.transaction(() => sql.exec("BEGIN"))))).toBe(true);
      const own = thrown(() =>
        sql.transaction(() => {
          throw new Error("the caller's");
        }),
      );
      expect(sql.isSqliteError(own)).toBe(false);
      expect(sql.isSqliteError(null)).toBe(false);
      expect(sql.isSqliteError("SQLITE_FULL")).toBe(false);
    });
  });
}

/**
 * `keygate config check --database` on the target under test (Bun, Deno's node:sqlite, the
 * binary): the database a server made, judged read-only as its start would judge it.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { keygate } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

test("config check --database passes a database serve would start on, refuses one it would not, and changes neither", async () => {
  const db = { KEYGATE_DB: join(tmp.dir, "checked", "keygate.sqlite") };
  const pepper = { KEYGATE_PEPPER: "the-deployment-pepper" };
  const server = await startServer({ ...db, ...pepper });
  await server.stop();
  const bytes = readFileSync(db.KEYGATE_DB);

  const good = keygate(["config", "check", "--database", "--json"], { ...db, ...pepper });
  expect([good.code, good.stderr]).toEqual([0, ""]);
  expect(JSON.parse(good.stdout).database_check).toEqual({
    exists: true,
    pending_migrations: [],
    served_by: null,
    rebuilt_by: null,
  });
  const wrong = keygate(["config", "check", "--database"], { ...db, KEYGATE_PEPPER: "another" });
  expect([wrong.code, wrong.stdout]).toEqual([1, ""]);
  expect(wrong.stderr).toStartWith(
    "keygate: bad configuration: KEYGATE_PEPPER is not the pepper this database's keys are hashed with",
  );
  // The same refusal the start itself makes.
  const refusedStart = await startServer({ ...db, KEYGATE_PEPPER: "another" }).catch(
    (error: Error) => error.message,
  );
  expect(refusedStart).toContain(
    "KEYGATE_PEPPER is not the pepper this database's keys are hashed with",
  );
  expect(readFileSync(db.KEYGATE_DB).equals(bytes)).toBe(true);
});

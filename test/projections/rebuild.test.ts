import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Keygate } from "../../src/app/keygate.ts";
import {
  allProjections,
  ensureProjectionsCurrent,
  rebuildProjections,
} from "../../src/projections/rebuild.ts";
import { buildHistory, dumpProjections } from "../support/history.ts";
import { FakeClock, tempDir, testKeygate } from "../support/keygate.ts";

let kg: Keygate | undefined;
afterEach(() => kg?.close());

describe("rebuild", () => {
  test("a rebuilt projection equals the live one row for row", async () => {
    const clock = new FakeClock();
    kg = testKeygate({ clock });
    await buildHistory(kg, clock);
    const live = dumpProjections(kg);
    expect(live.entities).toHaveLength(4);
    expect(
      live.entities?.map((e) => {
        const { name, reference } = e as { name: string; reference: string | null };
        return `${name}:${reference}`;
      }),
    ).toContain("Branch (renamed):BR-002");
    expect(live.api_keys).toHaveLength(5);
    expect(live.api_key_secrets).toHaveLength(7);
    expect(live.users).toHaveLength(3);
    expect(live.users?.map((u) => (u as { active: number }).active).sort()).toEqual([0, 1, 1]);
    expect(live.users?.map((u) => (u as { email: string }).email).sort()).toEqual([
      "former.left@example.com",
      "former@example.com",
      "ops@example.com",
    ]);

    clock.advance(3600); // a rebuild later must not change any timestamp
    const report = rebuildProjections(kg.db.sql, allProjections(kg.db.sql));
    expect(report.events).toBe(kg.store.headPosition());
    expect(dumpProjections(kg)).toEqual(live);
  });

  test("an ordinary start rebuilds nothing; a changed projection version rebuilds just that one", async () => {
    const { dir, remove } = tempDir();
    try {
      const clock = new FakeClock();
      const path = join(dir, "kg.sqlite");
      kg = testKeygate({ path, clock });
      await buildHistory(kg, clock);
      const live = dumpProjections(kg);
      kg.close();

      kg = testKeygate({ path, clock });
      expect(ensureProjectionsCurrent(kg.db.sql, allProjections(kg.db.sql)).projections).toEqual(
        [],
      );

      // Simulate an upgrade that bumped the api_keys projection and a wiped table.
      kg.db.sql.exec("UPDATE projection_state SET version = 0 WHERE name = 'api_keys'");
      kg.db.sql.exec("DELETE FROM api_key_secrets");
      const report = ensureProjectionsCurrent(kg.db.sql, allProjections(kg.db.sql));
      expect(report.projections).toEqual(["api_keys"]);
      expect(dumpProjections(kg)).toEqual(live);
    } finally {
      kg?.close();
      kg = undefined;
      remove();
    }
  });
});

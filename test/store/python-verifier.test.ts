import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { buildHistory } from "../support/history.ts";
import { FakeClock, tempDir, testKeygate } from "../support/keygate.ts";
import { ROOT } from "../support/spawn.ts";

function verify(path: string) {
  const result = Bun.spawnSync(["python3", join(ROOT, "docs", "verify-chain.py"), path]);
  return { code: result.exitCode, out: result.stdout.toString() };
}

describe("the documented hash rule, recomputed in Python (docs/verify-chain.py)", () => {
  test("accepts an intact log and names the first altered position", async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, "kg.sqlite");
      const clock = new FakeClock();
      const kg = testKeygate({ path, clock });
      await buildHistory(kg, clock);
      const head = kg.store.headPosition();
      kg.close();

      const intact = verify(path);
      expect(intact.code).toBe(0);
      expect(intact.out).toMatch(new RegExp(`^ok: ${head} events, head [0-9a-f]{64}`));

      // Tamper as an attacker with file access would: bypass the append-only triggers.
      const db = new Database(path);
      db.exec("DROP TRIGGER events_no_update");
      db.exec(
        `UPDATE events SET data = replace(data, '"Merchant"', '"Merchent"') WHERE position = 5`,
      );
      db.close();
      const tampered = verify(path);
      expect(tampered.code).toBe(1);
      expect(tampered.out).toBe(
        "bad event at position 5: hash does not match the recomputed hash\n",
      );
    } finally {
      remove();
    }
  });
});

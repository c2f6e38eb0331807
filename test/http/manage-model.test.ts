/**
 * Managing keys against a reference model (SPEC §1, §6): seeded random keys of a small tree,
 * each both a caller and a target, read, change (scopes, rate limit), rotate and revoke one
 * another at random. The model says, in the order the routes check it, what each request
 * gets: 401 for a revoked caller; 403 without the scope the route needs; 404 for a key of
 * another environment or outside the caller's subtree; 403 for a key holding more than the
 * caller, for scopes or a limit the caller cannot give, or a rotation that would hand over a
 * key allowed more or living longer; 400 for a revoked target; else 200. A rotation replaces
 * the target's secret (the old one stops at once), so a caller that is rotated must use its
 * new secret from then on; a revocation locks the target out.
 */
import { describe, expect, test } from "bun:test";
import {
  buildTree,
  ceilingOf,
  DEFAULT_RATE,
  holds,
  RATE_POOL,
  type Rate,
  randomKeys,
  rateWithin,
  SCOPE_POOL,
} from "../support/grant-rules.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { seededRandom } from "../support/random.ts";

const openTestApp = testAppPerTest();

const sameRate = (a: Rate | null, b: Rate | null) =>
  a?.limit === b?.limit && a?.window_seconds === b?.window_seconds;

describe("managing keys against a reference model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 200 random reads, changes, rotations and revocations; each answer as the model says`, async () => {
      const rng = seededRandom(seed);
      const t = openTestApp();
      const tree = buildTree(t);
      const keys = randomKeys(t, rng, tree, 16);
      const seen: Record<string, number> = {};

      for (let step = 1; step <= 200; step++) {
        t.clock.advance(61); // past every limit's window: nothing here is refused for its rate
        const caller = rng.pick(keys);
        // Mostly a key the caller can see, so that the rules past visibility get exercised.
        const visible = keys.filter(
          (k) => k.environment === caller.environment && k.entity.path.includes(caller.entity.id),
        );
        const target = rng.pick(visible.length > 0 && rng.chance(0.7) ? visible : keys);
        const op = rng.pick(["read", "scopes", "rate", "rotate", "rotate", "revoke"] as const);
        const fair = rng.chance(0.5);
        const newScopes = Array.from({ length: 1 + rng.int(2) }, () =>
          rng.pick(fair ? SCOPE_POOL.filter((s) => holds(caller.scopes, s)) : SCOPE_POOL),
        );
        const newRate = rng.chance(0.2) ? null : rng.pick(RATE_POOL);

        // The model, in the routes' order.
        const ceiling = ceilingOf(caller);
        const needed = op === "read" ? "api_keys:read" : "api_keys:write";
        let want: [number, string] = [200, "ok"];
        if (caller.revoked) want = [401, "api_key_revoked"];
        else if (!holds(caller.scopes, needed)) want = [403, "insufficient_scope"];
        else if (
          target.environment !== caller.environment ||
          !target.entity.path.includes(caller.entity.id)
        )
          want = [404, "resource_missing"];
        else if (op !== "read" && !target.scopes.every((s) => holds(caller.scopes, s)))
          want = [403, "insufficient_scope"];
        else if (op === "scopes" && !newScopes.every((s) => holds(caller.scopes, s)))
          want = [403, "insufficient_scope"];
        else if (
          op === "rate" &&
          ceiling &&
          !sameRate(newRate ?? DEFAULT_RATE, target.rate ?? DEFAULT_RATE) &&
          !rateWithin(newRate ?? DEFAULT_RATE, ceiling)
        )
          want = [403, "access_denied"];
        else if (op === "rotate" && ceiling && !rateWithin(target.rate ?? DEFAULT_RATE, ceiling))
          want = [403, "access_denied"];
        else if (
          op === "rotate" &&
          caller.expiresAtMs !== null &&
          (target.expiresAtMs === null || target.expiresAtMs > caller.expiresAtMs)
        )
          want = [403, "access_denied"];
        else if (target.revoked && op !== "read" && op !== "revoke")
          want = [400, "invalid_request"];

        const path = `/v1/api-keys/${target.id}`;
        const reply =
          op === "read"
            ? await t.call("GET", path, { key: caller.secret })
            : op === "scopes"
              ? await t.call("PATCH", path, { key: caller.secret, body: { scopes: newScopes } })
              : op === "rate"
                ? await t.call("PATCH", path, { key: caller.secret, body: { rate_limit: newRate } })
                : op === "rotate"
                  ? await t.call("POST", `${path}/rotate`, { key: caller.secret, body: {} })
                  : await t.call("POST", `${path}/revoke`, { key: caller.secret, body: {} });
        const got: [number, string] = [reply.status, reply.status === 200 ? "ok" : codeOf(reply)];
        const label = `seed ${seed} step ${step}: ${op} of ${target.id} by ${caller.id}`;
        expect({ label, got }).toEqual({ label, got: want });
        seen[`${op} ${got.join(" ")}`] = (seen[`${op} ${got.join(" ")}`] ?? 0) + 1;
        if (reply.status !== 200) continue;

        // What the model learns from a success, checked against the answer.
        if (op === "scopes") {
          target.scopes = [...new Set(newScopes)];
          expect(reply.body.scopes).toEqual([...target.scopes].sort());
        } else if (op === "rate") {
          target.rate = newRate;
          expect(reply.body.rate_limit).toEqual(newRate ?? DEFAULT_RATE);
        } else if (op === "rotate") {
          const old = target.secret;
          target.secret = reply.body.secret;
          expect((await t.call("GET", "/v1/me", { key: old })).status).toBe(401);
        } else if (op === "revoke") {
          target.revoked = true;
          expect(reply.body.status).toBe("revoked");
        }
        if (!target.revoked) {
          t.clock.advance(61); // the target may be the caller, with a limit of 1 a second
          const me = await t.call("GET", "/v1/me", { key: target.secret });
          expect([me.status, me.body.key.id]).toEqual([200, target.id]);
        }
      }
      // Every rule was reached in this run: successes and each kind of refusal.
      const outcomes = Object.keys(seen).map((k) => k.split(" ").slice(1).join(" "));
      for (const outcome of ["200 ok", "403 insufficient_scope", "404 resource_missing"])
        expect(outcomes).toContain(outcome);
    });
  }
});

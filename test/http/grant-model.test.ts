/**
 * "A key never grants more than it holds" (SPEC §1), over seeded random callers and requests
 * to `POST /v1/api-keys`. Callers are keys of random entities of a small tree, in either
 * environment, holding random scopes (wildcards included), some with their own rate limit or
 * an expiry; and dashboard users (JWT) at the platform, a partner and below, who choose the
 * environment (`test` by default) and are held to the default limit below the platform. Each request asks for random scopes, an environment, an entity (its own, another
 * anywhere in the tree, an inactive one or none that exists), a rate limit and an expiry.
 *
 * Two checks per request. A reference model of the rules, in the order the route applies
 * them, says which answer comes back (200, or the status and code of the first rule broken).
 * And whatever the model says, a key that was created must be within its creator: scopes it
 * holds, its environment, inside its subtree, a limit no looser and a life no longer — and it
 * must authenticate as exactly what was asked for.
 */
import { describe, expect, test } from "bun:test";
import {
  buildTree,
  ceilingOf,
  DAY_MS,
  DEFAULT_RATE,
  holds,
  type ModelKey,
  RATE_POOL,
  type Rate,
  randomKeys,
  rateWithin,
  SCOPE_POOL,
  type TreeEntity,
} from "../support/grant-rules.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { givenUser } from "../support/keygate.ts";
import { seededRandom } from "../support/random.ts";

const openTestApp = testAppPerTest();

/** A key, or a dashboard user: environment null (it chooses), a login to get its token. */
type Caller = Omit<ModelKey, "environment"> & {
  environment: "live" | "test" | null;
  login?: { email: string; password: string };
};

describe("granting keys against a reference model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 150 random key creations; each answer as the model says, each key within its creator`, async () => {
      const rng = seededRandom(seed);
      const t = openTestApp();
      const tree = buildTree(t);
      // Callers: keys, and dashboard users (a JWT: either environment, every scope, no expiry).
      const callers: Caller[] = randomKeys(t, rng, tree, 14);
      for (const [i, entity] of [tree[0], tree[1], tree[2]].entries()) {
        const email = `user${i}@example.com`;
        const password = "a long enough password";
        await givenUser(t.kg, { email, password, entityId: (entity as TreeEntity).id });
        callers.push({
          id: email,
          secret: "",
          entity: entity as TreeEntity,
          environment: null,
          scopes: ["*"],
          rate: null,
          expiresAtMs: null,
          revoked: false,
          login: { email, password },
        });
      }

      let created = 0;
      for (let step = 1; step <= 150; step++) {
        // Past every window of every limit in play: no request here is refused for its rate.
        t.clock.advance(61);
        const caller = rng.pick(callers);
        const nowMs = t.clock.now().getTime();
        // Half the time, each field drawn from what the caller may give; else from anything.
        const fair = () => rng.chance(0.5);
        const subtree = tree.filter((e) => e.path.includes(caller.entity.id));
        const scopePool = fair() ? SCOPE_POOL.filter((s) => holds(caller.scopes, s)) : SCOPE_POOL;
        const body: Record<string, unknown> = {
          name: `made ${step}`,
          scopes: Array.from({ length: rng.int(4) }, () => rng.pick(scopePool)),
        };
        if (rng.chance(0.6))
          body.environment = (fair() && caller.environment) || rng.pick(["live", "test"]);
        if (rng.chance(0.7)) {
          if (rng.chance(0.1)) body.entity_id = "ent_doesnotexist";
          else body.entity_id = rng.pick(fair() ? subtree : tree).id;
        }
        if (rng.chance(0.5)) body.rate_limit = rng.chance(0.2) ? null : rng.pick(RATE_POOL);
        if (rng.chance(0.4)) {
          const latest = caller.expiresAtMs ?? nowMs + 40 * DAY_MS;
          body.expires_at = rng.chance(0.2)
            ? null
            : new Date(
                fair() ? latest - rng.int(DAY_MS) : nowMs + (1 + rng.int(40)) * DAY_MS,
              ).toISOString();
        }

        // The model, in the route's order.
        const environment =
          (body.environment as string | undefined) ?? caller.environment ?? "test";
        const targetId = (body.entity_id as string | undefined) ?? caller.entity.id;
        const target = tree.find((e) => e.id === targetId);
        const scopes = body.scopes as string[];
        const granted = (body.rate_limit as Rate | null | undefined) ?? DEFAULT_RATE;
        const ceiling = ceilingOf(caller);
        const expiresAtMs =
          typeof body.expires_at === "string" ? Date.parse(body.expires_at) : null;
        let want: [number, string];
        if (!holds(caller.scopes, "api_keys:write")) want = [403, "insufficient_scope"];
        else if (caller.environment !== null && environment !== caller.environment)
          want = [403, "environment_forbidden"];
        else if (!target) want = [404, "resource_missing"];
        else if (!target.path.includes(caller.entity.id)) want = [403, "entity_forbidden"];
        else if (!scopes.every((s) => holds(caller.scopes, s))) want = [403, "insufficient_scope"];
        else if (ceiling && !rateWithin(granted, ceiling)) want = [403, "access_denied"];
        else if (
          caller.expiresAtMs !== null &&
          (expiresAtMs === null || expiresAtMs > caller.expiresAtMs)
        )
          want = [403, "access_denied"];
        else if (!target.path.every((id) => tree.find((e) => e.id === id)?.active))
          want = [400, "invalid_request"];
        else if (scopes.length === 0) want = [400, "invalid_request"];
        else want = [200, "ok"];

        if (caller.login) {
          // Tokens live 15 minutes; the clock moves a minute a step: a fresh one each time.
          const login = await t.call("POST", "/v1/auth/login", { body: caller.login });
          caller.secret = login.body.token;
        }
        const reply = await t.call("POST", "/v1/api-keys", { key: caller.secret, body });
        const label = `seed ${seed} step ${step}: ${JSON.stringify(body)} by ${JSON.stringify({ ...caller, secret: undefined })}`;
        const got: [number, string] = [reply.status, reply.status === 200 ? "ok" : codeOf(reply)];
        expect({ label, got }).toEqual({ label, got: want });
        if (reply.status !== 200) continue;
        created += 1;

        // Within its creator, whatever the model says.
        const key = reply.body;
        const keyEntity = tree.find((e) => e.id === key.entity_id) as TreeEntity;
        expect(key.scopes.every((s: string) => holds(caller.scopes, s))).toBe(true);
        if (caller.environment !== null) expect(key.environment).toBe(caller.environment);
        expect(keyEntity.path).toContain(caller.entity.id);
        if (ceiling) expect(rateWithin(key.rate_limit, ceiling)).toBe(true);
        if (caller.expiresAtMs !== null)
          expect(Date.parse(key.expires_at)).toBeLessThanOrEqual(caller.expiresAtMs);
        // And it is what was asked for.
        const me = await t.call("GET", "/v1/me", { key: key.secret });
        expect(me.status).toBe(200);
        expect(me.body.key.scopes).toEqual([...new Set(scopes)].sort());
        expect([me.body.key.environment, me.body.entity.id]).toEqual([environment, targetId]);
      }
      expect(created).toBeGreaterThan(5);
    });
  }
});

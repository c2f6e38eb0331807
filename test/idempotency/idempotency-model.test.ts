/**
 * Idempotency against a reference model, over seeded random histories in an app with the
 * plugin (SPEC §5). Clients: two live keys of one entity (one of them rotated now and then), a
 * test key of the same entity, and a live key of a merchant below it. Requests reuse a few
 * `Idempotency-Key`s with two paths and two bodies, alone or as concurrent bursts held inside
 * the handler; the clock jumps, sometimes past the 24-hour window; expired results are swept;
 * the process restarts on the same file. The model keeps one result per entity, environment
 * and key, and says for every request whether the handler runs (and how many times it has run
 * in all), or the recorded answer replays byte for byte, or 409 `idempotency_mismatch`, or —
 * while the first of a burst is still running — 409 `idempotency_key_in_use`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Elysia } from "elysia";
import type { Keygate } from "../../src/app/keygate.ts";
import { createApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { keygateGuard } from "../../src/http/guard.ts";
import { requestContext } from "../../src/http/request-context.ts";
import { idempotencyPlugin } from "../../src/idempotency/index.ts";
import { FakeClock, TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";
import { type Random, seededRandom } from "../support/random.ts";

const TTL_SECONDS = 24 * 3600;
const IDEMPOTENCY_KEYS = ["order-0001", "order-0002", "order-0003"];
const PATHS = ["/charges", "/charges?capture=false"];
const AMOUNTS = [100, 250];

/** A caller: which scope its results live in, and its current secret. */
interface Client {
  name: string;
  keyId: string;
  scope: string;
  secret: string;
}

/** One request as sent. */
interface Call {
  client: Client;
  idempotencyKey: string;
  path: string;
  amount: number;
}

/** What the model says a request gets. */
type Expected =
  | { kind: "runs" }
  | { kind: "replays"; status: number; text: string }
  | { kind: "refused"; code: "idempotency_mismatch" | "idempotency_key_in_use" };

interface Recorded {
  fingerprint: string;
  status: number;
  text: string;
  expiresAtMs: number;
}

/** The app: the plugin, the guard, and a charge handler that can be held mid-run. */
function shop(kg: Keygate, state: { calls: number; hold: Promise<void> | undefined }) {
  return new Elysia({ normalize: false })
    .use(requestContext({}, () => {}))
    .use(idempotencyPlugin(kg, () => {}))
    .use(keygateGuard(kg))
    .post(
      "/charges",
      async ({ body, set }) => {
        state.calls += 1;
        const n = state.calls;
        if (state.hold) await state.hold;
        set.status = 201;
        return { id: `ch_${n}`, amount: (body as { amount: number }).amount };
      },
      { scopes: ["charges:write"] },
    );
}

const fingerprintOf = (call: Call) => `${call.path} ${call.amount}`;

describe("idempotency against a reference model", () => {
  let kg: Keygate | undefined;
  let remove: (() => void) | undefined;
  afterEach(() => {
    kg?.close();
    kg = undefined;
    remove?.();
    remove = undefined;
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}: 120 random steps; every answer and the handler's run count as the model says`, async () => {
      const rng: Random = seededRandom(seed);
      const dir = tempDir();
      remove = dir.remove;
      const path = join(dir.dir, "kg.sqlite");
      const clock = new FakeClock();
      kg = testKeygate({ path, clock });
      const init = initPlatform(kg, TEST_ACTOR);
      if (!init.created) throw new Error("expected a fresh database");
      const partner = createEntity(
        kg,
        { kind: "partner", name: "Partner", parentId: init.entityId },
        TEST_ACTOR,
      );
      const merchant = createEntity(
        kg,
        { kind: "merchant", name: "Merchant", parentId: partner.id },
        TEST_ACTOR,
      );
      const clientOf = (name: string, entityId: string, environment: "live" | "test"): Client => {
        const key = createApiKey(
          kg as Keygate,
          { entityId, environment, name, scopes: ["charges:write"] },
          TEST_ACTOR,
        );
        return { name, keyId: key.id, scope: `${entityId}/${environment}`, secret: key.secret };
      };
      const clients = [
        clientOf("partner live 1", partner.id, "live"),
        clientOf("partner live 2", partner.id, "live"),
        clientOf("partner test", partner.id, "test"),
        clientOf("merchant live", merchant.id, "live"),
      ];
      const state = { calls: 0, hold: undefined as Promise<void> | undefined };
      let app = shop(kg, state);
      const recorded = new Map<string, Recorded>();
      let expectedCalls = 0;

      const send = async (call: Call) => {
        const response = await app.handle(
          new Request(`http://localhost${call.path}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${call.client.secret}`,
              "idempotency-key": call.idempotencyKey,
              "content-type": "application/json",
            },
            body: JSON.stringify({ amount: call.amount }),
          }),
        );
        return { response, text: await response.text() };
      };
      const lastSent = new Map<string, Call>();
      /** A request on a random key: half the time the same path and body as that key's last one. */
      const randomCall = (client = rng.pick(clients), key = rng.pick(IDEMPOTENCY_KEYS)): Call => {
        const last = lastSent.get(key);
        const call =
          last && rng.chance(0.5)
            ? { ...last, client }
            : { client, idempotencyKey: key, path: rng.pick(PATHS), amount: rng.pick(AMOUNTS) };
        lastSent.set(key, call);
        return call;
      };
      /** The model's answer for a request that finds no run of its key in progress. */
      const expectedFor = (call: Call): Expected => {
        const result = recorded.get(`${call.client.scope}|${call.idempotencyKey}`);
        if (!result || result.expiresAtMs <= clock.now().getTime()) return { kind: "runs" };
        if (result.fingerprint !== fingerprintOf(call))
          return { kind: "refused", code: "idempotency_mismatch" };
        return { kind: "replays", status: result.status, text: result.text };
      };
      /** Checks one answer against the model, and records a first run's result. */
      const check = (
        label: string,
        call: Call,
        want: Expected,
        got: Awaited<ReturnType<typeof send>>,
      ) => {
        const { response, text } = got;
        const replayed = response.headers.get("idempotent-replayed");
        if (want.kind === "runs") {
          expect({ label, status: response.status, replayed }).toEqual({
            label,
            status: 201,
            replayed: null,
          });
          expect(JSON.parse(text)).toEqual({
            id: expect.stringMatching(/^ch_\d+$/),
            amount: call.amount,
          });
          recorded.set(`${call.client.scope}|${call.idempotencyKey}`, {
            fingerprint: fingerprintOf(call),
            status: response.status,
            text,
            expiresAtMs: clock.now().getTime() + TTL_SECONDS * 1000,
          });
        } else if (want.kind === "replays") {
          expect({ label, status: response.status, text, replayed }).toEqual({
            label,
            status: want.status,
            text: want.text,
            replayed: "true",
          });
        } else {
          const code = (JSON.parse(text) as { error: { code: string } }).error.code;
          expect({ label, status: response.status, code }).toEqual({
            label,
            status: 409,
            code: want.code,
          });
          if (want.code === "idempotency_key_in_use")
            expect(response.headers.get("retry-after")).toBe("1");
        }
      };

      for (let step = 1; step <= 120; step++) {
        const roll = rng.int(20);
        const label = `seed ${seed} step ${step}`;
        if (roll < 11) {
          const call = randomCall();
          const want = expectedFor(call);
          if (want.kind === "runs") expectedCalls += 1;
          check(`${label}: one request`, call, want, await send(call));
        } else if (roll < 14) {
          // A burst on one key, its first request held inside the handler until the rest have
          // their answers: they are refused as in use, unless a result is already recorded.
          const first = randomCall();
          // The rest: the same request, or now and then another on the same key.
          const others = Array.from({ length: 1 + rng.int(3) }, () =>
            rng.chance(0.7) ? { ...first } : randomCall(first.client, first.idempotencyKey),
          );
          const want = expectedFor(first);
          let release = () => {};
          state.hold = new Promise<void>((resolve) => {
            release = resolve;
          });
          const pending = [first, ...others].map((call) => send(call));
          const early = await Promise.all(pending.slice(1));
          release();
          state.hold = undefined;
          const firstAnswer = await (pending[0] as ReturnType<typeof send>);
          if (want.kind === "runs") expectedCalls += 1;
          check(`${label}: burst, first`, first, want, firstAnswer);
          // While the first runs, the same request is "in use" and another one a mismatch;
          // once a result is recorded, each is judged against it.
          for (const [i, answer] of early.entries()) {
            const other = others[i] as Call;
            const otherWant: Expected =
              want.kind !== "runs"
                ? expectedFor(other)
                : fingerprintOf(other) === fingerprintOf(first)
                  ? { kind: "refused", code: "idempotency_key_in_use" }
                  : { kind: "refused", code: "idempotency_mismatch" };
            check(`${label}: burst, #${i + 2}`, other, otherWant, answer);
          }
        } else if (roll < 17) {
          clock.advance(rng.chance(0.3) ? TTL_SECONDS + rng.int(3600) : rng.int(4 * 3600));
        } else if (roll < 18) {
          await kg.idempotency.sweep();
        } else if (roll < 19) {
          const client = rng.pick(clients.slice(0, 2));
          client.secret = rotateApiKey(kg, client.keyId, 0, TEST_ACTOR).secret;
        } else {
          kg.close();
          kg = testKeygate({ path, clock });
          app = shop(kg, state);
        }
        expect({ label, calls: state.calls }).toEqual({ label, calls: expectedCalls });
      }
      expect(recorded.size).toBeGreaterThan(0);
    });
  }
});

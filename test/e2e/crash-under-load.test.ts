/**
 * SPEC §2 and §5, black-box: `kill -9` while writes are in flight. Workers create keys with an
 * `Idempotency-Key` and revoke some of them, concurrently, until enough answers have come
 * back; then the server is killed mid-stream, with requests still being handled and commits
 * being shared, and restarted on the same database. Afterwards:
 * - every answer a client received holds: its retry is replayed byte for byte, its secret
 *   authenticates, and a revocation it acknowledged is still enforced;
 * - every request whose answer was lost took effect once or not at all: retried with the same
 *   key, each leaves exactly one key behind;
 * - the log's hash chain verifies, and replaying it gives the live projections.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { keygate, keygateJson } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

const WORKERS = 24;
/** Answers to collect before the crash: enough for commits to be shared when it comes. */
const ACKNOWLEDGED_BEFORE_CRASH = 120;

interface Creation {
  idempotencyKey: string;
  /** The answer's text, when it arrived. */
  answer?: string;
  /** Whether a revocation of the key was acknowledged (200) before the crash. */
  revoked?: boolean;
  /** Whether a revocation was sent and its answer lost. */
  revokeLost?: boolean;
}

test("kill -9 under concurrent writes: every acknowledged answer holds, every lost one took effect once or not at all, the log verifies", async () => {
  const db = join(tmp.dir, "crash-load", "keygate.sqlite");
  const config = join(tmp.dir, "unlimited.json");
  // The platform key makes every request: the default 100 per second would refuse most.
  writeFileSync(
    config,
    JSON.stringify({ rate_limits: { default: { limit: 1_000_000, window_seconds: 1 } } }),
  );
  const env = { KEYGATE_DB: db, KEYGATE_CONFIG: config };
  const first = await startServer(env);
  const platform = /live: (sk_live_\S+)/.exec(first.startupOutput)?.[1] as string;
  const headers = { authorization: `Bearer ${platform}`, "content-type": "application/json" };
  const create = (url: string, idempotencyKey: string) =>
    fetch(`${url}/v1/api-keys`, {
      method: "POST",
      headers: { ...headers, "idempotency-key": idempotencyKey },
      // The name is the idempotency key, so that the keys a request left behind can be counted.
      body: JSON.stringify({ name: idempotencyKey, scopes: ["links:read"] }),
    });

  const creations: Creation[] = [];
  let acknowledged = 0;
  let crashing = false;
  let failed = false;
  const worker = async (w: number) => {
    for (let i = 0; !crashing; i++) {
      const creation: Creation = { idempotencyKey: `crash-${w}-${i}` };
      creations.push(creation);
      try {
        const reply = await create(first.url, creation.idempotencyKey);
        const text = await reply.text();
        expect(reply.status).toBe(200);
        creation.answer = text;
        acknowledged++;
        if (i % 3 === 0) {
          creation.revokeLost = true;
          const revoke = await fetch(`${first.url}/v1/api-keys/${JSON.parse(text).id}/revoke`, {
            method: "POST",
            headers,
            body: "{}",
          });
          await revoke.text();
          expect(revoke.status).toBe(200);
          creation.revoked = true;
          creation.revokeLost = false;
        }
      } catch (error) {
        // Only the crash may cut a request short; anything else is a failure of the test.
        if (crashing) return;
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  while (acknowledged < ACKNOWLEDGED_BEFORE_CRASH && !failed) await Bun.sleep(1);
  crashing = true;
  await first.crash();
  await Promise.all(workers);

  const lost = creations.filter((c) => c.answer === undefined);
  const answered = creations.filter((c) => c.answer !== undefined);
  expect(answered.length).toBeGreaterThanOrEqual(ACKNOWLEDGED_BEFORE_CRASH);
  // The crash cut short at most the one request each worker had on its way.
  expect(lost.length + creations.filter((c) => c.revokeLost).length).toBeLessThanOrEqual(WORKERS);

  const second = await startServer(env);
  try {
    for (const creation of answered) {
      const retry = await create(second.url, creation.idempotencyKey);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.text()).toBe(creation.answer as string);
    }
    for (const creation of lost) {
      const retry = await create(second.url, creation.idempotencyKey);
      expect(retry.status).toBe(200);
    }
    // Each secret acknowledged still authenticates, unless its revocation was acknowledged.
    for (const creation of answered) {
      const { secret, id } = JSON.parse(creation.answer as string) as {
        secret: string;
        id: string;
      };
      const verified = await fetch(`${second.url}/v1/keys/verify`, {
        method: "POST",
        headers,
        body: JSON.stringify({ key: secret }),
      });
      const verdict = (await verified.json()) as {
        valid: boolean;
        code: string;
        key?: { id: string };
      };
      if (creation.revoked)
        expect(verdict).toMatchObject({ valid: false, code: "api_key_revoked" });
      else if (!creation.revokeLost) expect(verdict).toMatchObject({ valid: true, key: { id } });
    }
  } finally {
    await second.stop();
  }

  // Exactly one key per request, answered or lost, retried: none twice, none missing.
  const keys = keygateJson<{ data: { name: string }[] }>(["keys", "list"], env).data;
  const perName = new Map<string, number>();
  for (const key of keys) perName.set(key.name, (perName.get(key.name) ?? 0) + 1);
  for (const creation of creations) expect(perName.get(creation.idempotencyKey)).toBe(1);
  expect(keys.length).toBe(creations.length + 2); // and the two platform keys

  const verified = keygate(["audit", "verify"], env);
  expect(verified.stderr).toBe("");
  expect(verified.code).toBe(0);
  const replayed = keygate(["audit", "replay"], env);
  expect(replayed.code).toBe(0);
}, 60_000);

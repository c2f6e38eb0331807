/** Databases the benchmarks run against: fresh, holding N keys, with one key whose secret we know. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KeygateEvent } from "../events/index.ts";
import { type Keygate, openKeygate } from "../src/app/keygate.ts";
import { initPlatform } from "../src/commands/init.ts";
import { loadConfig } from "../src/config/config.ts";
import { newId } from "../src/ids/index.ts";
import { displayPrefix, generateKey, maskKey } from "../src/keys/key-format.ts";
import { hashSecretKey } from "../src/keys/secret-hash.ts";
import { STREAM_DOES_NOT_EXIST } from "../src/store/expected-version.ts";

/** Where benchmark databases live (ignored by git). */
export const BENCH_DIR = join(import.meta.dir, "..", ".bench");
const META = { actor: "bench", request_id: null };

/** A key-creation event with a fresh secret (the secret itself is thrown away). */
export function keyCreatedEvent(entityId: string): { id: string; event: KeygateEvent } {
  const id = newId("key");
  const secret = generateKey("sk", "live");
  return {
    id,
    event: {
      type: "api_key.created",
      data: {
        key_id: id,
        entity_id: entityId,
        environment: "live",
        kind: "secret",
        name: "bench",
        scopes: ["links:read"],
        prefix: displayPrefix(secret),
        masked: maskKey(secret),
        public_key: null,
        secret_hash: hashSecretKey(secret),
        salt: null,
        rate_limit: null,
        expires_at: null,
      },
    },
  };
}

/** Opens Keygate on a fresh database in .bench/<name>. */
export function freshKeygate(name: string): { kg: Keygate; dbPath: string } {
  const dir = join(BENCH_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, "keygate.sqlite");
  return { kg: openKeygate(loadConfig({ KEYGATE_DB: dbPath })), dbPath };
}

/** Appends `count` key creations for `entityId`, group-committed 10,000 at a time. */
export async function fillKeys(kg: Keygate, entityId: string, count: number): Promise<void> {
  for (let done = 0; done < count; ) {
    const n = Math.min(10_000, count - done);
    await Promise.all(
      Array.from({ length: n }, () => {
        const { id, event } = keyCreatedEvent(entityId);
        return kg.store.appendToStreamGrouped(id, [event], {
          expectedStreamVersion: STREAM_DOES_NOT_EXIST,
          metadata: META,
        });
      }),
    );
    done += n;
  }
}

/** A fresh initialised database holding `keys` keys; returns its path and the live platform key. */
export async function databaseWithKeys(
  name: string,
  keys: number,
): Promise<{ dbPath: string; liveKey: string }> {
  const { kg, dbPath } = freshKeygate(name);
  const init = initPlatform(kg, META);
  if (!init.created) throw new Error("fresh database expected");
  await fillKeys(kg, init.entityId, keys - 2);
  kg.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  kg.close();
  return { dbPath, liveKey: init.keys.live };
}

/** A rate limit no benchmark reaches: the limiter does all its work and never refuses. */
export const UNREACHED_LIMIT = 1_000_000_000;

/** Writes `config` as `.bench/<name>/<fileName>` and returns its path (for KEYGATE_CONFIG). */
export function benchConfig(name: string, fileName: string, config: object): string {
  const path = join(BENCH_DIR, name, fileName);
  mkdirSync(join(BENCH_DIR, name), { recursive: true });
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A config that keeps the limiter on with the default limit raised out of reach. */
export function unlimitedConfig(name: string): string {
  return benchConfig(name, "unlimited.json", {
    rate_limits: { default: { limit: UNREACHED_LIMIT, window_seconds: 1 } },
  });
}

/** Opens a Keygate core for a test, on an in-memory or temporary database, with a fake clock. */
import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Keygate, openKeygate } from "../../src/app/keygate.ts";
import { createEntity } from "../../src/commands/entities.ts";
import { createUser, type UserObject } from "../../src/commands/users.ts";
import { type KeygateConfig, loadConfig } from "../../src/config/config.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import type { EventMetadata } from "../../src/store/recorded-event.ts";

/** Metadata for events appended by tests. */
export const TEST_ACTOR: EventMetadata = { actor: "test", request_id: null };

/** A clock that moves only when told. */
export class FakeClock {
  #ms: number;
  constructor(start = "2026-01-01T00:00:00.000Z") {
    this.#ms = Date.parse(start);
  }
  /** The current fake time. */
  now = (): Date => new Date(this.#ms);
  /** Moves the clock forward by `seconds`; back when they are negative, as a stepped clock. */
  advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "keygate-test-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Opens Keygate on `path` (default: in memory) with `clock` and extra environment. `config`
 * is written to a temporary `KEYGATE_CONFIG` file, read once here and removed at once.
 */
export function testKeygate(
  options: { path?: string; clock?: FakeClock; env?: Record<string, string>; config?: object } = {},
): Keygate {
  const env: Record<string, string> = { KEYGATE_DB: options.path ?? ":memory:", ...options.env };
  let config: KeygateConfig;
  if (options.config) {
    const { dir, remove } = tempDir();
    try {
      env.KEYGATE_CONFIG = join(dir, "config.json");
      writeFileSync(env.KEYGATE_CONFIG, JSON.stringify(options.config));
      config = loadConfig(env);
    } finally {
      remove();
    }
  } else {
    config = loadConfig(env);
  }
  return openKeygate(config, options.clock ? { now: options.clock.now } : {});
}

/**
 * `open`, for one test file: call it once at the file's top level; everything the returned
 * function opens is closed after each test.
 */
export function closedAfterEachTest<Options, Opened extends { close(): void }>(
  open: (options?: Options) => Opened,
): (options?: Options) => Opened {
  const opened: Opened[] = [];
  afterEach(() => {
    for (const it of opened.splice(0)) it.close();
  });
  return (options) => {
    const it = open(options);
    opened.push(it);
    return it;
  };
}

/** {@link testKeygate} for one test file: every Keygate it opens is closed after each test. */
export const testKeygatePerTest = () => closedAfterEachTest(testKeygate);

/**
 * For one test file: a database file of each test's own (`path()`), which `open` opens as
 * often as the test likes, with {@link testKeygate}'s other options; after each test every
 * opening is closed and the file removed.
 */
export function databaseFilePerTest() {
  let tmp: ReturnType<typeof tempDir> | undefined;
  beforeEach(() => {
    tmp = tempDir();
  });
  const opened = closedAfterEachTest(testKeygate);
  afterEach(() => tmp?.remove());
  const dir = () => (tmp as ReturnType<typeof tempDir>).dir;
  const path = () => join(dir(), "keygate.sqlite");
  return {
    dir,
    path,
    open: (options: Omit<Parameters<typeof testKeygate>[0] & object, "path"> = {}) =>
      opened({ ...options, path: path() }),
  };
}

/** Cheap scrypt cost for tests (the default takes tens of milliseconds per hash). */
export const TEST_SCRYPT_COST = { N: 1024, r: 8, p: 1 };

/** Creates a user as the test actor, with the cheap test scrypt cost. */
export function givenUser(
  kg: Keygate,
  input: { email: string; password: string; entityId: string },
): Promise<UserObject> {
  return createUser(kg, input, TEST_ACTOR, TEST_SCRYPT_COST);
}

/** A partner under the platform, and a merchant beside it: outside the partner's subtree. */
export function partnerAndOutsider(kg: Keygate, platform: string) {
  const underPlatform = (kind: "partner" | "merchant") =>
    createEntity(kg, { kind, name: kind, parentId: platform }, TEST_ACTOR);
  return { partner: underPlatform("partner"), other: underPlatform("merchant") };
}

/** The `kind` of error `run` throws; fails the test if it throws nothing, or anything else. */
export function errorOf<E extends Error>(
  run: () => unknown,
  kind: abstract new (...args: never[]) => E,
): E {
  try {
    run();
  } catch (error) {
    if (error instanceof kind) return error;
    throw error;
  }
  throw new Error(`expected a ${kind.name}`);
}

/** The KeygateError `run` throws; fails the test if it throws nothing, or anything else. */
export const keygateErrorOf = (run: () => unknown): KeygateError => errorOf(run, KeygateError);

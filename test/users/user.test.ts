import { describe, expect, test } from "bun:test";
import type { KeygateError } from "../../src/errors/keygate-error.ts";
import {
  DEFAULT_SCRYPT_COST,
  hashPassword,
  passwordFingerprint,
  verifyPassword,
  WorkGate,
} from "../../src/users/password.ts";
import {
  decideUser,
  evolveUser,
  initialUserState,
  type UserCommand,
} from "../../src/users/user.ts";
import { turnsWhile } from "../support/event-loop.ts";
import { deciderSpec } from "../support/given.ts";
import { TEST_SCRYPT_COST } from "../support/keygate.ts";

const spec = deciderSpec({
  decide: decideUser,
  evolve: evolveUser,
  initialState: initialUserState,
});
const create: UserCommand = {
  type: "CreateUser",
  id: "usr_1",
  entityId: "ent_1",
  email: "  Ada@Example.COM ",
  passwordHash: "scrypt$1024$8$1$c2FsdA==$aGFzaA==",
  emailTaken: false,
};

/** The event `create` records. */
const created = {
  type: "user.created" as const,
  data: {
    user_id: "usr_1",
    entity_id: "ent_1",
    email: "ada@example.com",
    password_hash: create.passwordHash,
  },
};

describe("user decider", () => {
  test("create normalises the email", () => {
    spec.given([]).when(create).then([created]);
  });
  test("deactivate once records, twice appends nothing; reactivate likewise; an unknown user is resource_missing", () => {
    const deactivated = { type: "user.deactivated" as const, data: { user_id: "usr_1" } };
    const reactivated = { type: "user.reactivated" as const, data: { user_id: "usr_1" } };
    spec.given([created]).when({ type: "DeactivateUser" }).then([deactivated]);
    spec.given([created, deactivated]).when({ type: "DeactivateUser" }).then([]);
    spec.given([created, deactivated]).when({ type: "ReactivateUser" }).then([reactivated]);
    spec.given([created]).when({ type: "ReactivateUser" }).then([]);
    spec.given([]).when({ type: "DeactivateUser" }).thenThrows("resource_missing");
    spec.given([]).when({ type: "ReactivateUser" }).thenThrows("resource_missing");
  });
  test("a password change records the new hash, for an active or a deactivated user; an unknown user is resource_missing", () => {
    const change: UserCommand = {
      type: "ChangePassword",
      passwordHash: "scrypt$1024$8$1$bmV3$bmV3",
    };
    const changed = {
      type: "user.password_changed" as const,
      data: { user_id: "usr_1", password_hash: "scrypt$1024$8$1$bmV3$bmV3" },
    };
    spec.given([created]).when(change).then([changed]);
    spec.given([created, changed]).when(change).then([changed]);
    spec
      .given([created, { type: "user.deactivated", data: { user_id: "usr_1" } }])
      .when(change)
      .then([changed]);
    spec.given([]).when(change).thenThrows("resource_missing");
  });
  test("a bad or taken email is refused", () => {
    spec
      .given([])
      .when({ ...create, email: "not-an-email" })
      .thenThrows("invalid_request", /email/);
    spec
      .given([])
      .when({ ...create, email: "ops\u001b[2K@example.com" })
      .thenThrows("invalid_request", /email must be plain text: .*U\+001B/);
    spec
      .given([])
      .when({ ...create, emailTaken: true })
      .thenThrows("resource_conflict");
  });
  test("an email change records the new address, normalised; the same address appends nothing; a bad, taken or unknown one is refused", () => {
    const change = (email: string, emailTaken = false): UserCommand => ({
      type: "ChangeEmail",
      email,
      emailTaken,
    });
    const changed = {
      type: "user.email_changed" as const,
      data: { user_id: "usr_1", email: "new@example.com" },
    };
    spec.given([created]).when(change(" New@Example.COM ")).then([changed]);
    spec
      .given([created, { type: "user.deactivated", data: { user_id: "usr_1" } }])
      .when(change("new@example.com"))
      .then([changed]);
    spec.given([created, changed]).when(change("NEW@example.com")).then([]);
    spec.given([created]).when(change("ADA@example.com")).then([]);
    spec.given([created]).when(change("nope")).thenThrows("invalid_request", /email/);
    spec.given([created]).when(change("new@example.com", true)).thenThrows("resource_conflict");
    spec.given([]).when(change("new@example.com")).thenThrows("resource_missing");
  });
});

describe("passwords", () => {
  test("the fingerprint a token carries changes with every new hash, even of the same password", async () => {
    const first = await hashPassword("the same password", TEST_SCRYPT_COST);
    const second = await hashPassword("the same password", TEST_SCRYPT_COST);
    expect(passwordFingerprint(first)).toBe(passwordFingerprint(first));
    expect(passwordFingerprint(first)).not.toBe(passwordFingerprint(second));
    expect(passwordFingerprint(first)).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
  test("scrypt hash verifies the right password only, and never contains it", async () => {
    const stored = await hashPassword("correct horse battery", TEST_SCRYPT_COST);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(stored).not.toContain("correct horse");
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterx", stored)).toBe(false);
    expect(await verifyPassword("anything", "md5$abc")).toBe(false);
  });
  test("hashing runs off the event loop: the server keeps turning while a password is hashed", async () => {
    // At the default cost one hash is ~100 ms of CPU. Done on the event loop, no other
    // request could be served meanwhile; on the thread pool, the loop keeps turning.
    const { result: stored, turns } = await turnsWhile(() =>
      hashPassword("correct horse battery", DEFAULT_SCRYPT_COST),
    );
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(turns).toBeGreaterThan(0);
  });
  test("two hashes of one password differ (random salt)", async () => {
    expect(await hashPassword("same password", TEST_SCRYPT_COST)).not.toBe(
      await hashPassword("same password", TEST_SCRYPT_COST),
    );
  });
});

describe("the gate on password work", () => {
  test("runs a few at a time, lets a few wait, and refuses the rest at once with 429", async () => {
    const gate = new WorkGate(1, 2);
    let running = 0;
    let most = 0;
    const finished: number[] = [];
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const work = (id: number) =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        await opened;
        running--;
        finished.push(id);
        return id;
      });
    const runs = [1, 2, 3, 4, 5].map((id) =>
      work(id).then(
        (value) => ({ value }),
        (error: KeygateError) => ({ code: error.code, retryAfter: error.retryAfterSeconds }),
      ),
    );
    open();
    expect(await Promise.all(runs)).toEqual([
      { value: 1 },
      { value: 2 },
      { value: 3 },
      { code: "rate_limited", retryAfter: 1 },
      { code: "rate_limited", retryAfter: 1 },
    ]);
    expect([most, finished]).toEqual([1, [1, 2, 3]]);
    // Its turns all handed back: it runs again.
    expect(await gate.run(async () => "again")).toBe("again");
  });
});

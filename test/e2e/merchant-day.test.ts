/**
 * A merchant's day, black-box: the server started as the README starts it, driven over HTTP
 * (and once by the CLI on the same database), then its logs and database files searched
 * for every secret it ever handed out.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { keygate } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

test("a merchant's day: entities, a user, keys of both environments, login, rotations, revocation, timeline, a password change", async () => {
  const db = join(tmp.dir, "day", "keygate.sqlite");
  const server = await startServer({ KEYGATE_DB: db });
  const secrets: string[] = [];
  try {
    const platformLive = /live: (sk_live_\S+)/.exec(server.startupOutput)?.[1] as string;
    const platformTest = /test: (sk_test_\S+)/.exec(server.startupOutput)?.[1] as string;
    secrets.push(platformLive, platformTest);
    const api = async (method: string, path: string, key: string | null, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
      return { status: response.status, body: (await response.json()) as any };
    };

    // The platform sets up a partner, a merchant and a branch.
    const partner = await api("POST", "/v1/entities", platformLive, {
      kind: "partner",
      name: "Acme Partners",
    });
    const merchant = await api("POST", "/v1/entities", platformLive, {
      kind: "merchant",
      name: "Acme Shop",
      parent_id: partner.body.id,
    });
    const branch = await api("POST", "/v1/entities", platformLive, {
      kind: "branch",
      name: "Acme Shop Downtown",
      parent_id: merchant.body.id,
      reference: "BR-001",
    });
    expect([partner.status, merchant.status, branch.status]).toEqual([200, 200, 200]);

    // A dashboard user for the merchant logs in and issues keys in both environments.
    const password = "merchant dashboard passphrase";
    secrets.push(password);
    const user = await api("POST", "/v1/users", platformLive, {
      email: "owner@acme.test",
      password,
      entity_id: merchant.body.id,
    });
    expect(user.status).toBe(200);
    const login = await api("POST", "/v1/auth/login", null, { email: "owner@acme.test", password });
    expect(login.body.token_type).toBe("Bearer");
    const token = login.body.token as string;
    secrets.push(token);

    const liveKey = await api("POST", "/v1/api-keys", token, {
      name: "checkout",
      scopes: ["links:read", "links:write"],
      environment: "live",
    });
    const testKey = await api("POST", "/v1/api-keys", token, {
      name: "checkout-test",
      scopes: ["links:read"],
      environment: "test",
    });
    const branchKey = await api("POST", "/v1/api-keys", token, {
      name: "pos",
      scopes: ["sessions:write"],
      environment: "live",
      entity_id: branch.body.id,
      kind: "pair",
    });
    secrets.push(liveKey.body.secret, testKey.body.secret, branchKey.body.secret);

    // A creation retried with the same Idempotency-Key gets the same key and secret back; the
    // recorded answer is sealed in the log (the byte search at the end covers it).
    const createOnce = async () => {
      const response = await fetch(`${server.url}/v1/api-keys`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "idempotency-key": "merchant-day-0001",
        },
        body: JSON.stringify({ name: "retried", scopes: ["links:read"], environment: "live" }),
      });
      return {
        replayed: response.headers.get("idempotent-replayed"),
        body: (await response.json()) as any,
      };
    };
    const once = await createOnce();
    const twice = await createOnce();
    expect([once.replayed, twice.replayed]).toEqual([null, "true"]);
    expect(twice.body.secret).toBe(once.body.secret);
    secrets.push(once.body.secret);
    expect([liveKey.body.livemode, testKey.body.livemode]).toEqual([true, false]);
    expect((await api("GET", "/v1/me", liveKey.body.secret)).body.entity.id).toBe(merchant.body.id);
    // The token is for management routes only.
    expect((await api("GET", "/v1/me", token)).body.error.code).toBe("token_not_accepted");
    // A live key cannot see the test key.
    const testFromLive = await api("GET", `/v1/api-keys/${testKey.body.id}`, platformLive);
    expect([testFromLive.status, testFromLive.body.error.code]).toEqual([404, "resource_missing"]);

    // Rotation with overlap: both secrets work; then an immediate rotation kills the old one.
    const overlap = await api("POST", `/v1/api-keys/${liveKey.body.id}/rotate`, token, {
      expire_previous_in: 3600,
    });
    secrets.push(overlap.body.secret);
    expect((await api("GET", "/v1/me", liveKey.body.secret)).status).toBe(200);
    expect((await api("GET", "/v1/me", overlap.body.secret)).status).toBe(200);
    const immediate = await api("POST", `/v1/api-keys/${liveKey.body.id}/rotate`, token, {
      expire_previous_in: 0,
    });
    secrets.push(immediate.body.secret);
    expect((await api("GET", "/v1/me", overlap.body.secret)).body.error.code).toBe(
      "api_key_revoked",
    );
    expect((await api("GET", "/v1/me", immediate.body.secret)).status).toBe(200);

    // The operator lowers the test key's limit from the CLI; the running server applies it.
    const update = keygate(["keys", "update", testKey.body.id, "--rate-limit", "2/1m"], {
      KEYGATE_DB: db,
    });
    expect(update.code).toBe(0);
    let limited = await api("GET", "/v1/me", testKey.body.secret);
    for (let waited = 0; limited.status === 200 && waited < 3000; waited += 50) {
      if (limited.body.key.rate_limit.limit === 2) break;
      await Bun.sleep(50);
      limited = await api("GET", "/v1/me", testKey.body.secret);
    }
    expect(limited.body.key.rate_limit).toEqual({ limit: 2, window_seconds: 60 });
    for (let sent = 0; limited.status === 200 && sent < 3; sent++)
      limited = await api("GET", "/v1/me", testKey.body.secret);
    expect([limited.status, limited.body.error.code]).toEqual([429, "rate_limited"]);

    // Revocation from the CLI on the same database reaches the running server.
    const cli = keygate(["keys", "revoke", testKey.body.id, "--json"], { KEYGATE_DB: db });
    expect(cli.code).toBe(0);
    // The server looks for other processes' commits every 100 ms; allow for a busy machine.
    // Until it has seen the revocation the key is still known, and over its 2/min limit (429).
    let afterRevoke = await api("GET", "/v1/me", testKey.body.secret);
    for (let waited = 0; afterRevoke.status !== 401 && waited < 3000; waited += 50) {
      await Bun.sleep(50);
      afterRevoke = await api("GET", "/v1/me", testKey.body.secret);
    }
    expect(afterRevoke.body.error.code).toBe("api_key_revoked");

    // Revoke over HTTP, twice; then read the timeline.
    expect((await api("POST", `/v1/api-keys/${liveKey.body.id}/revoke`, token)).body.status).toBe(
      "revoked",
    );
    expect((await api("POST", `/v1/api-keys/${liveKey.body.id}/revoke`, token)).status).toBe(200);
    expect((await api("GET", "/v1/me", immediate.body.secret)).body.error.code).toBe(
      "api_key_revoked",
    );
    const timeline = await api("GET", `/v1/api-keys/${liveKey.body.id}/events`, token);
    expect(timeline.body.data.map((e: { type: string }) => e.type)).toEqual([
      "api_key.created",
      "api_key.rotated",
      "api_key.rotated",
      "api_key.revoked",
    ]);
    expect(timeline.body.data[0].metadata.actor).toBe(user.body.id);

    // The owner changes their password: the token issued before stops at once.
    const newPassword = "a fresher dashboard passphrase";
    secrets.push(newPassword);
    const changed = await api("POST", "/v1/auth/password", null, {
      email: "owner@acme.test",
      password,
      new_password: newPassword,
    });
    expect(changed.body.password_changed_at).not.toBeNull();
    expect((await api("GET", "/v1/api-keys", token)).body.error.code).toBe("invalid_token");
    const fresh = await api("POST", "/v1/auth/login", null, {
      email: "owner@acme.test",
      password: newPassword,
    });
    const freshToken = fresh.body.token as string;
    secrets.push(freshToken);
    expect((await api("GET", "/v1/api-keys", freshToken)).status).toBe(200);

    // The owner leaves: their user is deactivated, their token stops at once, and the keys
    // they made keep working.
    const off = await api("POST", `/v1/users/${user.body.id}/deactivate`, platformLive);
    expect(off.body.active).toBe(false);
    expect((await api("GET", "/v1/api-keys", freshToken)).body.error.code).toBe("invalid_token");
    const relogin = await api("POST", "/v1/auth/login", null, {
      email: "owner@acme.test",
      password: newPassword,
    });
    expect(relogin.body.error.code).toBe("invalid_credentials");
    expect((await api("GET", "/v1/me", once.body.secret)).status).toBe(200);

    // Deactivating the merchant locks out the branch's key pair at once.
    const basic = `Basic ${Buffer.from(`${branchKey.body.public_key}:${branchKey.body.secret}`).toString("base64")}`;
    expect((await fetch(`${server.url}/v1/me`, { headers: { authorization: basic } })).status).toBe(
      200,
    );
    await api("POST", `/v1/entities/${merchant.body.id}/deactivate`, platformLive);
    const locked = await fetch(`${server.url}/v1/me`, { headers: { authorization: basic } });
    expect(((await locked.json()) as any).error.code).toBe("entity_inactive");

    // No secret in any response after creation: the list of keys.
    const list = await api("GET", "/v1/api-keys?limit=100", platformLive);
    const listed = JSON.stringify(list.body);
    for (const s of secrets) expect(listed.includes(s)).toBe(false);
  } finally {
    await server.stop();
  }

  // No raw secret, password or token in the server's output or anywhere in the database files.
  const output = server.output();
  expect(output).toContain('"path":"/v1/me"');
  const files = ["", "-wal", "-shm"].map((suffix) => `${db}${suffix}`).filter(existsSync);
  const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
  for (const s of secrets.slice(2)) {
    expect(output.includes(s)).toBe(false);
    expect(bytes.includes(Buffer.from(s))).toBe(false);
  }
  // The platform keys are printed once at first start (by design), and never stored.
  for (const s of secrets.slice(0, 2)) expect(bytes.includes(Buffer.from(s))).toBe(false);
});

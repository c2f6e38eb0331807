/**
 * Audit, black-box: `serve` signs a checkpoint at start; an auditor reads it over HTTP and
 * verifies the log with the CLI while the server runs, then has the server verify and replay
 * it over HTTP. An operator puts back a row edited behind the log with `keygate rebuild`.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startServer } from "../support/server.ts";
import { keygate } from "../support/spawn.ts";

const tmp = tempDir();
afterAll(tmp.remove);

test("a checkpoint signed at start covers the log; verify agrees while the server runs, and over HTTP", async () => {
  const db = join(tmp.dir, "audit", "keygate.sqlite");
  const server = await startServer({ KEYGATE_DB: db });
  try {
    const key = /live: (sk_live_\S+)/.exec(server.startupOutput)?.[1] as string;
    const reply = await fetch(`${server.url}/v1/audit/checkpoint`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(reply.status).toBe(200);
    const checkpoint = (await reply.json()) as { size: number };
    expect(checkpoint.size).toBe(3); // the platform entity and its two keys
    const verified = keygate(["audit", "verify"], { KEYGATE_DB: db });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain("intact: 3 events");
    expect(verified.stdout).toContain("matches the checkpoint");
    // The same log split between worker threads (a long log's default): the same verdict.
    const split = keygate(["audit", "verify", "--workers", "2"], { KEYGATE_DB: db });
    expect(split.code).toBe(0);
    expect(split.stdout).toContain("intact: 3 events");
    const refused = keygate(["audit", "verify", "--workers", "0"], { KEYGATE_DB: db });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--workers must be a whole number");
    // The same audits over HTTP, run by the server on a worker thread of its own.
    const audit = async (what: string) => {
      const answer = await fetch(`${server.url}/v1/audit/${what}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(answer.status).toBe(200);
      return (await answer.json()) as Record<string, unknown>;
    };
    expect(await audit("verify")).toMatchObject({
      object: "log_verification",
      intact: true,
      events: 3,
      checkpoint: { size: 3 },
    });
    expect(await audit("replay")).toMatchObject({
      object: "log_replay",
      identical: true,
      events: 3,
    });
  } finally {
    await server.stop();
  }
}, 30_000);

test("a revoked key made active behind the log works until keygate rebuild, which waits for the server to stop, puts the row back", async () => {
  const db = join(tmp.dir, "rebuild", "keygate.sqlite");
  const env = { KEYGATE_DB: db };
  const me = async (url: string, key: string) =>
    (await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status;
  let server = await startServer(env);
  let key: { id: string; secret: string };
  try {
    const platform = /live: (sk_live_\S+)/.exec(server.startupOutput)?.[1] as string;
    const headers = { authorization: `Bearer ${platform}`, "content-type": "application/json" };
    const created = await fetch(`${server.url}/v1/api-keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "billing", scopes: ["links:read"] }),
    });
    key = (await created.json()) as { id: string; secret: string };
    const revoked = await fetch(`${server.url}/v1/api-keys/${key.id}/revoke`, {
      method: "POST",
      headers,
    });
    expect(revoked.status).toBe(200);
    expect(await me(server.url, key.secret)).toBe(401);
    const file = new Database(db);
    file.query("UPDATE api_keys SET status = 'active', revoked_at = NULL WHERE id = ?").run(key.id);
    file.close();
    const refused = keygate(["rebuild"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is served by keygate serve (pid");
  } finally {
    await server.stop();
  }
  // The edited row is what a server started now reads: the revoked key works again.
  server = await startServer(env);
  try {
    expect(await me(server.url, key.secret)).toBe(200);
  } finally {
    await server.stop();
  }
  const rebuilt = keygate(["rebuild"], env);
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.stdout).toContain("rebuilt entities, api_keys, users");
  expect(keygate(["audit", "replay"], env).stdout.trim()).toBe("identical");
  server = await startServer(env);
  try {
    expect(await me(server.url, key.secret)).toBe(401);
  } finally {
    await server.stop();
  }
}, 60_000);

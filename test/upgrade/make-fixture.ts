/**
 * Makes an upgrade fixture: drives an earlier release of Keygate, checked out at `<old>`,
 * through a day's work over HTTP — a tree of entities, keys of every kind, a rotation with
 * overlap, a revocation, an expiring key, a user with a token, results recorded under
 * `Idempotency-Key` by two callers, a deactivated branch — stops it, and writes what
 * upgrade.test.ts needs into `<out>`: the database as SQL text (`keygate.sql`, sqlite3's
 * `.dump`) and `facts.json` (the secrets it printed, its two server keys, the answers it gave).
 *
 *   git worktree add /tmp/old <rev> && (cd /tmp/old && bun install)
 *   bun test/upgrade/make-fixture.ts /tmp/old test/upgrade/release-<rev> && bun run format
 *
 * Needs the `sqlite3` command. Nothing here is a real secret: the fixture's keys exist in it
 * alone. Still, `facts.json` holds each key as its `_`-separated parts and each answer in
 * base64, so that secret scanners do not take the made-up keys for leaked ones. Not run by
 * the tests.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [oldCheckout, out] = process.argv.slice(2);
if (!oldCheckout || !out) throw new Error("usage: bun test/upgrade/make-fixture.ts <old> <out>");

const dir = mkdtempSync(join(tmpdir(), "keygate-fixture-"));
const port = 40_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;
const server = Bun.spawn(["bun", "src/cli/main.ts", "serve"], {
  cwd: oldCheckout,
  env: {
    PATH: process.env.PATH ?? "",
    KEYGATE_DB: join(dir, "keygate.sqlite"),
    KEYGATE_PORT: String(port),
  },
  stdout: Bun.file(join(dir, "serve.log")),
  stderr: "inherit",
});

async function ready(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error("the old release did not start");
}

/** One call: its status and body exactly as sent. */
async function call(
  method: string,
  path: string,
  options: { key?: string; basic?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.basic) headers.authorization = `Basic ${btoa(options.basic)}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { status: response.status, text, json: JSON.parse(text) };
}

try {
  await ready();
  const printed = readFileSync(join(dir, "serve.log"), "utf8");
  const platformKey = (env: string) =>
    (printed.match(new RegExp(`${env}: (sk_${env}_\\w+)`)) as RegExpMatchArray)[1] as string;
  const live = platformKey("live");
  const test = platformKey("test");
  const recordedFrom = new Date().toISOString();

  const entity = async (body: object) =>
    (await call("POST", "/v1/entities", { key: live, body })).json;
  const me = await call("GET", "/v1/me", { key: live });
  const platform = me.json.entity.id as string;
  const partner = await entity({ kind: "partner", name: "Partner One" });
  const merchant = await entity({
    kind: "merchant",
    name: "Merchant One",
    parent_id: partner.id,
    reference: "M-1",
  });
  const branch = await entity({ kind: "branch", name: "Branch One", parent_id: merchant.id });

  const newKey = async (body: object) =>
    (await call("POST", "/v1/api-keys", { key: live, body })).json;
  // Recorded under an Idempotency-Key by the platform: the secret comes back on a retry.
  const merchantKeyRequest = {
    path: "/v1/api-keys",
    idempotencyKey: "upgrade-merchant-key-1",
    body: {
      name: "merchant",
      scopes: ["links:read", "api_keys:read", "api_keys:write", "events:read"],
      entity_id: merchant.id,
    },
  };
  const merchantKey = await call("POST", merchantKeyRequest.path, {
    key: live,
    body: merchantKeyRequest.body,
    headers: { "idempotency-key": merchantKeyRequest.idempotencyKey },
  });
  const pair = await newKey({
    name: "branch pair",
    kind: "pair",
    scopes: ["links:read"],
    entity_id: branch.id,
  });
  const rotating = await newKey({
    name: "rotating",
    scopes: ["links:read"],
    entity_id: merchant.id,
    rate_limit: { limit: 5, window_seconds: 60 },
  });
  const rotated = (
    await call("POST", `/v1/api-keys/${rotating.id}/rotate`, {
      key: live,
      body: { expire_previous_in: 86_400 },
    })
  ).json;
  const revoked = await newKey({ name: "revoked", scopes: ["links:read"], entity_id: merchant.id });
  await call("POST", `/v1/api-keys/${revoked.id}/revoke`, { key: live });
  const expiring = await newKey({
    name: "expiring",
    scopes: ["links:read"],
    entity_id: merchant.id,
    expires_at: new Date(Date.now() + 10 * 60_000).toISOString(),
  });
  const user = { email: "ops@merchant.example", password: "correct horse battery staple" };
  await call("POST", "/v1/users", { key: live, body: { ...user, entity_id: merchant.id } });
  const token = (await call("POST", "/v1/auth/login", { body: user })).json.token as string;
  await call("POST", `/v1/entities/${branch.id}/deactivate`, { key: live });

  // Recorded under an Idempotency-Key by a merchant's key.
  const childKeyRequest = {
    path: "/v1/api-keys",
    idempotencyKey: "upgrade-child-key-1",
    body: { name: "child", scopes: ["links:read"] },
  };
  const childKey = await call("POST", childKeyRequest.path, {
    key: merchantKey.json.secret,
    body: childKeyRequest.body,
    headers: { "idempotency-key": childKeyRequest.idempotencyKey },
  });
  await call("GET", "/v1/me", { key: merchantKey.json.secret }); // a last_used_at to keep
  const merchantEvents = (
    await call("GET", "/v1/events?limit=100", { key: merchantKey.json.secret })
  ).json.data.map((e: { position: number }) => e.position);
  const keyList = (await call("GET", "/v1/api-keys?limit=100", { key: live })).json.data;

  server.kill("SIGINT");
  await server.exited;

  const parts = (key: string) => key.split("_");
  const base64 = (text: string) => Buffer.from(text).toString("base64");
  const facts = {
    madeBy: Bun.spawnSync(["git", "log", "-1", "--format=%h %cs"], { cwd: oldCheckout })
      .stdout.toString()
      .trim(),
    recordedFrom,
    recordedUntil: new Date().toISOString(),
    serverKeys: {
      jwt: readFileSync(join(dir, "keygate-jwt.key"), "utf8").trim(),
      results: readFileSync(join(dir, "keygate-results.key"), "utf8").trim(),
    },
    entities: { platform, partner: partner.id, merchant: merchant.id, branch: branch.id },
    keys: {
      live: parts(live),
      test: parts(test),
      merchant: parts(merchantKey.json.secret),
      pairPublic: parts(pair.public_key),
      pairSecret: parts(pair.secret),
      rotatedOut: parts(rotating.secret),
      rotatedIn: parts(rotated.secret),
      revoked: parts(revoked.secret),
      expiring: parts(expiring.secret),
    },
    user: { ...user, token },
    recorded: [
      {
        ...merchantKeyRequest,
        by: "live",
        status: merchantKey.status,
        text: base64(merchantKey.text),
      },
      { ...childKeyRequest, by: "merchant", status: childKey.status, text: base64(childKey.text) },
    ],
    merchantEvents,
    keyList,
  };
  const dump = Bun.spawnSync(["sqlite3", join(dir, "keygate.sqlite"), ".dump"]);
  if (dump.exitCode !== 0) throw new Error(`sqlite3 .dump: ${dump.stderr}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "keygate.sql"), dump.stdout);
  writeFileSync(join(out, "facts.json"), `${JSON.stringify(facts, null, 2)}\n`);
  console.log(`wrote ${out}: ${facts.madeBy}`);
} finally {
  server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

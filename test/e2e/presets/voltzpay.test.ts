/**
 * presets/voltzpay.json against VoltzPay's Merchant API document (seeds/004): HTTP Basic
 * `pk:sk` key pairs only, environment bound at creation, `GET /me`, overlapping rotation, the
 * closed error union with `merchant_inactive`, secrets redacted to prefix + last four.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tempDir } from "../../support/keygate.ts";
import { basic, type RunningPreset, startPreset, untilServerSees } from "../../support/preset.ts";

const tmp = tempDir();
let voltz: RunningPreset;
let merchant: { id: string };
let livePair: { id: string; public_key: string; secret: string };
let testPair: { id: string; public_key: string; secret: string };
let spare: { id: string; public_key: string; secret: string };

beforeAll(async () => {
  voltz = await startPreset("voltzpay", tmp.dir);
  merchant = voltz.cli("entities", "create", "--kind", "merchant", "--name", "Voltz shop");
  const pair = (env: string) =>
    voltz.cli(
      "keys",
      "create",
      "--entity",
      merchant.id,
      "--name",
      `server-${env}`,
      "--scopes",
      "orders:read,orders:write",
      "--kind",
      "pair",
      "--env",
      env,
    );
  livePair = pair("live");
  testPair = pair("test");
  spare = pair("live");
}, 60_000);
afterAll(async () => {
  await voltz?.stop();
  tmp.remove();
});

const as = (pair: { public_key: string; secret: string }) => ({
  headers: { authorization: basic(pair.public_key, pair.secret) },
});

test("GET /me with a live pair: 200, the live environment, the key redacted to prefix and last four", async () => {
  const me = await voltz.call("GET", "/me", as(livePair));
  expect(me.status).toBe(200);
  expect(me.body.livemode).toBe(true);
  expect(me.body.key).toMatchObject({
    kind: "pair",
    environment: "live",
    public_key: livePair.public_key,
    entity_id: merchant.id,
  });
  expect(livePair.public_key).toMatch(/^pk_live_/);
  expect(livePair.secret).toMatch(/^sk_live_/);
  expect(me.body.key.masked).toBe(`sk_live_••••${livePair.secret.slice(-4)}`);
  expect(me.text).not.toContain(livePair.secret);
});

test("the environment is the key's: a test pair acts in test mode, and the upstream is told so", async () => {
  const me = await voltz.call("GET", "/me", as(testPair));
  expect(me.body.livemode).toBe(false);
  voltz.upstream.calls.length = 0;
  const order = await voltz.call("POST", "/orders", { ...as(testPair), body: { amount: 500 } });
  expect(order.status).toBe(201);
  const seen = voltz.upstream.calls[0]?.headers as Headers;
  expect(seen.get("x-keygate-livemode")).toBe("false");
  expect(seen.get("x-keygate-entity-id")).toBe(merchant.id);
  expect(seen.get("authorization")).toBeNull();
});

test("the closed error union: missing, malformed (Bearer, bad base64, mixed environments), invalid", async () => {
  voltz.upstream.calls.length = 0;
  const code = async (headers: Record<string, string>) => {
    const reply = await voltz.call("GET", "/orders/ord_1", { headers });
    expect(reply.status).toBe(401);
    return reply.body.error.code;
  };
  expect(await code({})).toBe("api_key_missing");
  expect(await code({ "x-api-key": livePair.secret })).toBe("api_key_missing");
  expect(await code({ authorization: `Bearer ${livePair.secret}` })).toBe("api_key_malformed");
  expect(await code({ authorization: "Basic not*base64" })).toBe("api_key_malformed");
  expect(await code({ authorization: basic(livePair.public_key, testPair.secret) })).toBe(
    "api_key_malformed",
  );
  expect(await code({ authorization: basic(livePair.public_key, spare.secret) })).toBe(
    "api_key_invalid",
  );
  expect(voltz.upstream.calls).toHaveLength(0);
});

test("rotation: both pairs work until the old one is revoked, which then gets api_key_revoked", async () => {
  const replacement = voltz.cli(
    "keys",
    "create",
    "--entity",
    merchant.id,
    "--name",
    "server-live-2",
    "--scopes",
    "orders:read,orders:write",
    "--kind",
    "pair",
    "--env",
    "live",
  );
  const old = { ...livePair };
  expect((await voltz.call("GET", "/me", as(old))).status).toBe(200);
  const rolled = await voltz.call("GET", "/me", as(replacement));
  expect(rolled.status).toBe(200);
  expect(rolled.body.livemode).toBe(true);
  voltz.cli("keys", "revoke", old.id);
  const revoked = await untilServerSees(
    () => voltz.call("GET", "/me", as(old)),
    (reply) => reply.status !== 200,
  );
  expect(revoked.status).toBe(401);
  expect(revoked.body.error.code).toBe("api_key_revoked");
  expect((await voltz.call("GET", "/me", as(replacement))).status).toBe(200);
  livePair = replacement;
});

test("the platform pair serve printed at its first start manages keys over Basic; a key made without a kind is a pair", async () => {
  const [publicKey, secret] = voltz.live.split(":") as [string, string];
  const asPlatform = as({ public_key: publicKey, secret });
  const me = await voltz.call("GET", "/me", asPlatform);
  expect(me.body.key).toMatchObject({ kind: "pair", public_key: publicKey, scopes: ["*"] });
  const made = await voltz.call("POST", "/v1/api-keys", {
    ...asPlatform,
    body: { name: "server-http", scopes: ["orders:read"], entity_id: merchant.id },
  });
  expect(made.status).toBe(200);
  expect(made.body).toMatchObject({ kind: "pair", environment: "live", entity_id: merchant.id });
  const itself = await voltz.call("GET", "/me", as(made.body));
  expect(itself.body.key.id).toBe(made.body.id);
});

test("a disabled merchant: 401 merchant_inactive", async () => {
  voltz.cli("entities", "deactivate", merchant.id);
  const me = () => voltz.call("GET", "/me", as(testPair));
  const reply = await untilServerSees(me, (r) => r.status !== 200);
  expect(reply.status).toBe(401);
  expect(reply.body.error.code).toBe("merchant_inactive");
  voltz.cli("entities", "reactivate", merchant.id);
  expect((await untilServerSees(me, (r) => r.status === 200)).status).toBe(200);
});

test("no secret key is ever logged; public keys may be", async () => {
  await voltz.call("GET", "/me", as(testPair));
  const logs = voltz.server.output();
  expect(logs).not.toContain(testPair.secret);
  expect(logs).not.toContain(livePair.secret);
  expect(logs).toContain('"status":200');
});

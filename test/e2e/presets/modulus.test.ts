/**
 * presets/modulus.json against Modulus Labs' authentication page (seeds/003): Bearer
 * `sk_live_` / `sk_test_` keys scoped to partner → merchant → branch, with
 * `merchant_branch_reference_number` naming the branch for partner and merchant keys;
 * Idempotency-Key required on `POST /checkout` and optional on cancel, 8–64 of
 * `[A-Za-z0-9._-]`, 409 `idempotency_mismatch`; `x-correlation-id` and `X-RateLimit-*` on every
 * response; limits per key per endpoint.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { tempDir } from "../../support/keygate.ts";
import { awayFromMinuteBoundary, type RunningPreset, startPreset } from "../../support/preset.ts";

const tmp = tempDir();
let modulus: RunningPreset;
const ids: Record<string, string> = {};
const keys: Record<string, string> = {};
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  modulus = await startPreset("modulus", tmp.dir);
  const entity = async (name: string, body: object) => {
    const reply = await modulus.call("POST", "/v1/entities", {
      headers: bearer(modulus.test),
      body,
    });
    expect(reply.status).toBe(200);
    ids[name] = reply.body.id;
  };
  await entity("partner", { kind: "partner", name: "Partner" });
  await entity("merchant", {
    kind: "merchant",
    name: "Merchant",
    parent_id: ids.partner,
    reference: "M-1",
  });
  await entity("branch", {
    kind: "branch",
    name: "Branch 1",
    parent_id: ids.merchant,
    reference: "BR-001",
  });
  await entity("other", { kind: "merchant", name: "Elsewhere", reference: "M-9" });
  await entity("otherBranch", {
    kind: "branch",
    name: "Far",
    parent_id: ids.other,
    reference: "BR-900",
  });
  for (const level of ["partner", "merchant", "branch"]) {
    const reply = await modulus.call("POST", "/v1/api-keys", {
      headers: bearer(modulus.test),
      body: { name: level, scopes: ["checkout:read", "checkout:write"], entity_id: ids[level] },
    });
    keys[level] = reply.body.secret;
  }
}, 60_000);
afterAll(async () => {
  await modulus?.stop();
  tmp.remove();
});

const checkout = (key: string, body: object, idempotencyKey: string | null = crypto.randomUUID()) =>
  modulus.call("POST", "/ecom/v1/checkout", {
    headers: {
      ...bearer(key as string),
      ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
    },
    body,
  });

test("requests without a valid key: 401 invalid_api_key", async () => {
  const reply = await modulus.call("GET", "/ecom/v1/checkout");
  expect(reply.status).toBe(401);
  expect(reply.body.error.code).toBe("invalid_api_key");
  expect(keys.branch).toMatch(/^sk_test_/);
});

test("partner and merchant keys must name the branch; branch keys may omit it", async () => {
  modulus.upstream.calls.length = 0;
  const missing = await checkout(keys.partner as string, { amount: 100 });
  expect(missing.status).toBe(400);
  expect(missing.body.error.param).toBe("merchant_branch_reference_number");
  const viaPartner = await checkout(keys.partner as string, {
    amount: 100,
    merchant_branch_reference_number: "BR-001",
  });
  expect(viaPartner.status).toBe(201);
  const viaMerchant = await checkout(keys.merchant as string, {
    amount: 100,
    merchant_branch_reference_number: "BR-001",
  });
  expect(viaMerchant.status).toBe(201);
  const own = await checkout(keys.branch as string, { amount: 100 });
  expect(own.status).toBe(201);
  const seen = modulus.upstream.calls.map((c) => c.headers.get("x-keygate-entity-id"));
  expect(seen).toEqual([ids.branch, ids.branch, ids.branch] as string[]);
  const path = modulus.upstream.calls[0]?.headers.get("x-keygate-entity-path") ?? "";
  expect(path.split("/").slice(1)).toEqual([ids.partner, ids.merchant, ids.branch] as string[]);
});

test("a branch outside the key's subtree: 403 entity_forbidden, nothing reaches the upstream", async () => {
  modulus.upstream.calls.length = 0;
  for (const key of [keys.partner, keys.merchant, keys.branch]) {
    const reply = await checkout(key as string, { merchant_branch_reference_number: "BR-900" });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe("entity_forbidden");
  }
  expect(modulus.upstream.calls).toHaveLength(0);
});

test("Content-Type: application/json on POST /checkout: a body of another type is 415, never proxied", async () => {
  modulus.upstream.calls.length = 0;
  // As a form, this names BR-900 (outside the partner's subtree); as JSON, BR-001 (inside).
  const body =
    '{"x":"&merchant_branch_reference_number=BR-900&","merchant_branch_reference_number":"BR-001"}';
  const reply = await modulus.call("POST", "/ecom/v1/checkout", {
    headers: {
      ...bearer(keys.partner as string),
      "idempotency-key": crypto.randomUUID(),
      "content-type": "application/x-www-form-urlencoded",
    },
    body,
  });
  expect([reply.status, reply.body.error.code]).toEqual([415, "unsupported_content_type"]);
  expect(modulus.upstream.calls).toHaveLength(0);
});

test("Idempotency-Key: required on POST /checkout, optional on cancel, 8–64 of letters, digits, . - _", async () => {
  const missing = await checkout(keys.branch as string, { amount: 1 }, null);
  expect(missing.status).toBe(400);
  expect(missing.body.error.code).toBe("idempotency_key_missing");
  for (const bad of ["short12", "x".repeat(65), "has space!", "ünïcode-key"]) {
    const reply = await checkout(keys.branch as string, { amount: 1 }, bad);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe("idempotency_key_invalid");
  }
  expect((await checkout(keys.branch as string, { amount: 1 }, "ORD.2026_11-23")).status).toBe(201);
  expect((await checkout(keys.branch as string, { amount: 1 }, "k".repeat(64))).status).toBe(201);
  const cancel = await modulus.call("POST", "/ecom/v1/checkout/chk_1/cancel", {
    headers: bearer(keys.branch as string),
  });
  expect(cancel.status).toBe(201);
});

test("the same key and body: the original response, no duplicate; another body: 409 idempotency_mismatch", async () => {
  modulus.upstream.calls.length = 0;
  const body = { amount: 2500, order_reference: "order-777" };
  const first = await checkout(keys.branch as string, body, "order-777");
  const again = await checkout(keys.branch as string, body, "order-777");
  expect(again.status).toBe(first.status);
  expect(again.text).toBe(first.text);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  const changed = await checkout(keys.branch as string, { ...body, amount: 2600 }, "order-777");
  expect(changed.status).toBe(409);
  expect(changed.body.error.code).toBe("idempotency_mismatch");
  expect(modulus.upstream.calls).toHaveLength(1);
});

test("every response carries x-correlation-id (a UUID v4; a valid one sent is echoed)", async () => {
  for (const reply of [
    await modulus.call("GET", "/ecom/v1/checkout", { headers: bearer(keys.branch as string) }),
    await modulus.call("GET", "/ecom/v1/checkout"),
    await modulus.call("GET", "/nowhere"),
  ]) {
    expect(reply.headers.get("x-correlation-id")).toMatch(UUID_V4);
  }
  const mine = crypto.randomUUID();
  const echoed = await modulus.call("GET", "/ecom/v1/checkout", {
    headers: { ...bearer(keys.branch as string), "x-correlation-id": mine },
  });
  expect(echoed.headers.get("x-correlation-id")).toBe(mine);
});

test("X-RateLimit-* per endpoint: 60/min on POST and PATCH, 120/min on GET", async () => {
  const limitOf = async (method: string, path: string, body?: object) => {
    const reply = await modulus.call(method, path, {
      headers: { ...bearer(keys.merchant as string), "idempotency-key": crypto.randomUUID() },
      ...(body ? { body } : {}),
    });
    const reset = Number(reply.headers.get("x-ratelimit-reset"));
    expect(reset * 1000).toBeGreaterThan(Date.now() - 1000);
    expect(reset * 1000).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(Number(reply.headers.get("x-ratelimit-remaining"))).toBeLessThan(
      Number(reply.headers.get("x-ratelimit-limit")),
    );
    return reply.headers.get("x-ratelimit-limit");
  };
  expect(
    await limitOf("POST", "/ecom/v1/checkout", { merchant_branch_reference_number: "BR-001" }),
  ).toBe("60");
  expect(await limitOf("GET", "/ecom/v1/checkout")).toBe("120");
  expect(await limitOf("GET", "/ecom/v1/checkout/chk_1")).toBe("120");
  expect(await limitOf("PATCH", "/ecom/v1/checkout/chk_1", { amount: 1 })).toBe("60");
  expect(await limitOf("POST", "/ecom/v1/checkout/chk_1/cancel")).toBe("60");
});

test("over 60 POST /checkout a minute: 429 rate_limited with Retry-After; other endpoints and keys unaffected", async () => {
  const fresh = (
    await modulus.call("POST", "/v1/api-keys", {
      headers: bearer(modulus.test),
      body: { name: "burst", scopes: ["checkout:read", "checkout:write"], entity_id: ids.branch },
    })
  ).body.secret as string;
  const statuses: number[] = [];
  let last: Awaited<ReturnType<RunningPreset["call"]>> | undefined;
  await awayFromMinuteBoundary();
  for (let i = 0; i < 61; i++) {
    last = await checkout(fresh, { amount: i });
    statuses.push(last.status);
  }
  expect(statuses.filter((s) => s === 201)).toHaveLength(60);
  expect(statuses[60]).toBe(429);
  expect(last?.body.error.code).toBe("rate_limited");
  expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(last?.headers.get("x-ratelimit-remaining")).toBe("0");
  const list = await modulus.call("GET", "/ecom/v1/checkout", { headers: bearer(fresh) });
  expect(list.status).toBe(200);
  expect((await checkout(keys.branch as string, { amount: 1 })).status).toBe(201);
}, 20_000);

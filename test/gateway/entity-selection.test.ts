/**
 * Gateway entity selection (issue 6, Modulus): a route names where its target entity comes
 * from (a body field, a header, a path or query parameter); partner and merchant keys must
 * name one inside their subtree, branch keys may omit it, and the upstream receives the entity
 * selected.
 */
import { describe, expect, test } from "bun:test";
import { gatewayTestBed } from "../support/gateway.ts";
import { codeOf, readReply } from "../support/http.ts";

const { upstream, gatewayApp } = gatewayTestBed();

describe("entity selection (Modulus: partner and merchant keys name the branch)", () => {
  async function tree() {
    const app = gatewayApp();
    const { call, live } = app;
    const make = async (body: object) =>
      (await call("POST", "/v1/entities", { key: live, body })).body;
    const partner = await make({ kind: "partner", name: "P" });
    const merchant = await make({
      kind: "merchant",
      name: "M",
      parent_id: partner.id,
      reference: "M-1",
    });
    const branch = await make({
      kind: "branch",
      name: "B",
      parent_id: merchant.id,
      reference: "BR-001",
    });
    const otherMerchant = await make({ kind: "merchant", name: "O", reference: "M-2" });
    const otherBranch = await make({
      kind: "branch",
      name: "OB",
      parent_id: otherMerchant.id,
      reference: "BR-002",
    });
    const keyFor = async (entity: { id: string }) =>
      (
        await call("POST", "/v1/api-keys", {
          key: live,
          body: { name: "k", scopes: ["*"], entity_id: entity.id },
        })
      ).body.secret as string;
    return {
      ...app,
      partner,
      merchant,
      branch,
      otherBranch,
      partnerKey: await keyFor(partner),
      branchKey: await keyFor(branch),
    };
  }
  const checkout = (body: unknown, key: string, idem = crypto.randomUUID()) => ({
    key,
    headers: { "idempotency-key": idem },
    body,
  });
  /** POST /checkout with `body` as sent, `key`'s, a fresh Idempotency-Key and `headers`. */
  const postAsSent = (
    app: ReturnType<typeof gatewayApp>["app"],
    key: string,
    body: string | Uint8Array,
    headers: Record<string, string>,
  ) =>
    app
      .handle(
        new Request("http://localhost/checkout", {
          method: "POST",
          headers: {
            authorization: `Bearer ${key}`,
            "idempotency-key": crypto.randomUUID(),
            ...headers,
          },
          body,
        }),
      )
      .then(readReply);

  test("from a body field by reference: missing 400, outside 403, inside proxied as that branch", async () => {
    const { call, partnerKey, branch, partner, merchant } = await tree();
    // A JSON string body is sent as it is: '"BR-001"'.
    for (const body of [{ amount: 1 }, [{ branch_ref: "BR-001" }], '"BR-001"']) {
      const missing = await call("POST", "/checkout", checkout(body, partnerKey));
      expect([missing.status, missing.body.error.param, missing.body.error.message]).toEqual([
        400,
        "branch_ref",
        "branch_ref: required for an API key above the branch level; name the entity to act for as a member of the body's JSON object.",
      ]);
    }
    const outside = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-002" }, partnerKey),
    );
    expect(outside.status).toBe(403);
    expect(codeOf(outside)).toBe("entity_forbidden");
    const notABranch = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "M-1" }, partnerKey),
    );
    expect(notABranch.status).toBe(400);
    expect(upstream.calls).toHaveLength(0);
    const inside = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-001" }, partnerKey),
    );
    expect(inside.status).toBe(201);
    const h = upstream.calls[0]?.headers as Headers;
    expect(h.get("x-keygate-entity-id")).toBe(branch.id);
    expect(h.get("x-keygate-entity-path")).toBe(branch.path.join("/"));
    expect(branch.path).toEqual(expect.arrayContaining([partner.id, merchant.id, branch.id]));
    expect(upstream.calls[0]?.body).toBe(JSON.stringify({ amount: 1, branch_ref: "BR-001" }));
  });

  test("a body the field cannot be read from: not JSON, not UTF-8, the field named twice — 400; compressed — 415; nothing proxied", async () => {
    const { app, partnerKey } = await tree();
    const post = (body: Uint8Array, headers: Record<string, string> = {}) =>
      postAsSent(app, partnerKey, body, { "content-type": "application/json", ...headers });
    const notJson = await post(new TextEncoder().encode("branch_ref=BR-001"));
    expect([notJson.status, notJson.body.error.message]).toEqual([
      400,
      "The body is not valid JSON.",
    ]);
    // "BR-001é" in Latin-1: read leniently, it would look for a reference ending in U+FFFD.
    const latin1 = Uint8Array.from([
      ...new TextEncoder().encode('{"branch_ref":"BR-001'),
      0xe9,
      ...new TextEncoder().encode('"}'),
    ]);
    const notUtf8 = await post(latin1);
    expect(notUtf8.status).toBe(400);
    expect(notUtf8.body.error.message).toStartWith("The body is not UTF-8 text");
    // Named twice: Keygate (reading the last) would authorise BR-001, inside the key's subtree,
    // while an upstream reading the first acted for BR-002, outside it.
    const twice = await post(
      new TextEncoder().encode('{"branch_ref":"BR-002","amount":1,"branch_ref":"BR-001"}'),
    );
    expect([twice.status, twice.body.error.param]).toEqual([400, "branch_ref"]);
    expect(twice.body.error.message).toStartWith("branch_ref is given twice in its object");
    // Compressed: Keygate does not decompress what it must read; it says so, not "not UTF-8".
    const gzipped = Bun.gzipSync(new TextEncoder().encode('{"branch_ref":"BR-001"}'));
    const compressed = await post(gzipped, { "content-encoding": "gzip" });
    expect([compressed.status, codeOf(compressed)]).toEqual([415, "unsupported_content_encoding"]);
    expect(compressed.headers.get("accept-encoding")).toBe("identity");
    expect(upstream.calls).toHaveLength(0);
  });

  test("a body not declared as JSON in UTF-8 is 415: an upstream reads a body as its Content-Type says", async () => {
    const { app, partnerKey } = await tree();
    const post = (body: string, contentType: string | undefined) =>
      postAsSent(
        app,
        partnerKey,
        body,
        contentType === undefined ? {} : { "content-type": contentType },
      );
    // JSON text to Keygate naming BR-001, inside the key's subtree; as a form, branch_ref=BR-002.
    const smuggled = '{"x":"&branch_ref=BR-002&","branch_ref":"BR-001"}';
    expect(new URLSearchParams(smuggled).get("branch_ref")).toBe("BR-002");
    for (const contentType of [
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "text/plain",
      "application/json; charset=iso-8859-1",
      undefined,
    ]) {
      const reply = await post(smuggled, contentType);
      expect([contentType, reply.status, codeOf(reply)]).toEqual([
        contentType,
        415,
        "unsupported_content_type",
      ]);
    }
    expect(upstream.calls).toHaveLength(0);
    // JSON under any of its names, in UTF-8, is read and proxied.
    const body = '{"branch_ref":"BR-001"}';
    for (const contentType of [
      "application/json",
      "Application/JSON; charset=UTF-8",
      'application/json;charset="utf-8"',
      "application/vnd.api+json",
    ])
      expect([contentType, (await post(body, contentType)).status]).toEqual([contentType, 201]);
    expect(upstream.calls).toHaveLength(4);
  });

  test("a branch given a new reference is selected by the new one at once, and no longer by the old", async () => {
    const { call, live, partnerKey, branch } = await tree();
    const renumbered = await call("PATCH", `/v1/entities/${branch.id}`, {
      key: live,
      body: { reference: "BR-101" },
    });
    expect(renumbered.body.reference).toBe("BR-101");
    const byOld = await call("POST", "/checkout", checkout({ branch_ref: "BR-001" }, partnerKey));
    expect([byOld.status, upstream.calls]).toEqual([403, []]);
    const byNew = await call("POST", "/checkout", checkout({ branch_ref: "BR-101" }, partnerKey));
    expect(byNew.status).toBe(201);
    expect(upstream.calls[0]?.headers.get("x-keygate-entity-id")).toBe(branch.id);
  });

  test("a branch key may omit it and acts for its own branch; it cannot name a sibling", async () => {
    const { call, branchKey, branch } = await tree();
    const own = await call("POST", "/checkout", checkout({ amount: 1 }, branchKey));
    expect(own.status).toBe(201);
    expect(upstream.calls[0]?.headers.get("x-keygate-entity-id")).toBe(branch.id);
    const sibling = await call(
      "POST",
      "/checkout",
      checkout({ amount: 1, branch_ref: "BR-002" }, branchKey),
    );
    expect(codeOf(sibling)).toBe("entity_forbidden");
  });

  test("from a header, a path parameter or a query parameter, by id", async () => {
    const { call, partnerKey, branch, merchant, otherBranch } = await tree();
    expect(
      (
        await call("GET", "/reports", {
          key: partnerKey,
          headers: { "x-merchant-id": merchant.id },
        })
      ).status,
    ).toBe(200);
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(merchant.id);
    expect((await call("GET", `/branches/${branch.id}/summary`, { key: partnerKey })).status).toBe(
      200,
    );
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(branch.id);
    expect((await call("GET", `/sales?merchant=${merchant.id}`, { key: partnerKey })).status).toBe(
      200,
    );
    expect(upstream.calls.at(-1)?.headers.get("x-keygate-entity-id")).toBe(merchant.id);
    const outside = await call("GET", `/branches/${otherBranch.id}/summary`, { key: partnerKey });
    expect(codeOf(outside)).toBe("entity_forbidden");
    const nonexistent = await call("GET", "/sales?merchant=ent_nope", { key: partnerKey });
    expect(codeOf(nonexistent)).toBe("entity_forbidden");
    expect(upstream.calls).toHaveLength(3);
  });

  test("Idempotency-Key: the same key and body for another entity (named in a header) is another request — 409, never the first one's result", async () => {
    const { call, partnerKey, branchKey, merchant, branch } = await tree();
    const payout = (key: string, entity?: string) =>
      call("POST", "/payouts", {
        key,
        headers: { "idempotency-key": "order-12345", ...(entity && { "x-merchant-id": entity }) },
        body: { amount: 100 },
      });
    expect((await payout(partnerKey, merchant.id)).status).toBe(201);
    const forBranch = await payout(partnerKey, branch.id);
    expect([forBranch.status, codeOf(forBranch)]).toEqual([409, "idempotency_mismatch"]);
    const retry = await payout(partnerKey, merchant.id);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.calls.map((c) => c.headers.get("x-keygate-entity-id"))).toEqual([merchant.id]);
    // A branch key naming its own branch, or not naming it, sends one and the same request.
    expect((await payout(branchKey)).status).toBe(201);
    const named = await payout(branchKey, branch.id);
    expect(named.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.calls).toHaveLength(2);
  });

  test("an ambiguous selection is refused before anything is looked up: a query parameter given twice or under a name the upstream may bind to it, a body member in another case, a header in another spelling, a path parameter badly encoded", async () => {
    const { call, partnerKey, branchKey, merchant, internalErrors } = await tree();
    // In another case, beside the field or instead of it: an upstream binding names without
    // regard to case could act for ent_theirs, or for BR-009, while Keygate judged another.
    // So are the array forms PHP, Rails and Express's qs bind to the same name.
    for (const query of [
      `merchant=${merchant.id}&MERCHANT=ent_theirs`,
      "Merchant=ent_theirs",
      `merchant=${merchant.id}&merchant%5B%5D=ent_theirs`,
      `merchant=${merchant.id}&merchant[0]=ent_theirs`,
      "merchant[=ent_theirs",
    ]) {
      const variant = await call("GET", `/sales?${query}`, { key: partnerKey });
      expect([query, variant.status, codeOf(variant)]).toEqual([query, 400, "invalid_request"]);
      expect(variant.body.error.message).toContain("an upstream may read it as merchant");
    }
    // A header with _ for -: one name to servers that read headers as CGI variables.
    const underscored = await call("GET", "/reports", {
      key: partnerKey,
      headers: { "x-merchant-id": merchant.id, X_Merchant_Id: "ent_theirs" },
    });
    expect([underscored.status, codeOf(underscored), underscored.body.error.param]).toEqual([
      400,
      "invalid_request",
      "x_merchant_id",
    ]);
    // And the other way round, for a selector named with underscores.
    const dashes = await call("GET", "/ledger", {
      key: partnerKey,
      headers: { "X-Merchant": "ent_theirs" },
    });
    expect([dashes.status, codeOf(dashes), dashes.body.error.param]).toEqual([
      400,
      "invalid_request",
      "x-merchant",
    ]);
    const member = await call("POST", "/checkout", checkout({ Branch_Ref: "BR-009" }, branchKey));
    expect([member.status, codeOf(member), member.body.error.param]).toEqual([
      400,
      "invalid_request",
      "Branch_Ref",
    ]);
    const twice = await call("GET", `/sales?merchant=${merchant.id}&merchant=ent_theirs`, {
      key: partnerKey,
    });
    expect([twice.status, codeOf(twice), twice.body.error.param]).toEqual([
      400,
      "invalid_request",
      "merchant",
    ]);
    const encoded = await call("GET", "/branches/%E0%A4%A/summary", { key: partnerKey });
    expect([encoded.status, codeOf(encoded), encoded.body.error.param]).toEqual([
      400,
      "invalid_request",
      "branch",
    ]);
    expect(internalErrors).toEqual([]);
    expect(upstream.calls).toHaveLength(0);
    // A name that only starts the same is another parameter.
    const other = await call("GET", `/sales?merchant=${merchant.id}&merchants=1`, {
      key: partnerKey,
    });
    expect(other.status).toBe(200);
  });

  test("an inactive target entity is refused", async () => {
    const { call, live, partnerKey, branch } = await tree();
    await call("POST", `/v1/entities/${branch.id}/deactivate`, { key: live });
    const reply = await call("POST", "/checkout", checkout({ branch_ref: "BR-001" }, partnerKey));
    expect(codeOf(reply)).toBe("entity_forbidden");
    expect(upstream.calls).toHaveLength(0);
  });
});

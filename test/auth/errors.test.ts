/** Every row of the SPEC §3 error table, through the real app. */
import { describe, expect, test } from "bun:test";
import { type ManagementClaims, signToken } from "../../src/auth/jwt.ts";
import { createApiKey, revokeApiKey, rotateApiKey } from "../../src/commands/api-keys.ts";
import { createEntity, deactivateEntity } from "../../src/commands/entities.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { codeOf, tampered, testAppPerTest } from "../support/http.ts";
import { givenUser, TEST_ACTOR } from "../support/keygate.ts";

const openTestApp = testAppPerTest();
const setup = (config?: object) => openTestApp(config ? { config } : {});
const basic = (pk: string, sk: string) => ({
  authorization: `Basic ${Buffer.from(`${pk}:${sk}`).toString("base64")}`,
});

/** A live key pair on `entityId`, holding everything. */
const livePair = (kg: Parameters<typeof createApiKey>[0], entityId: string) =>
  createApiKey(
    kg,
    { entityId, environment: "live", name: "p", scopes: ["*"], kind: "pair" },
    TEST_ACTOR,
  );

describe("authentication errors", () => {
  test("401 api_key_missing: no credential", async () => {
    const { call } = setup();
    const reply = await call("GET", "/v1/me");
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({
      error: {
        type: "authentication",
        code: "api_key_missing",
        message: "No API key was provided.",
        requestId: reply.headers.get("x-request-id"),
      },
    });
  });

  test("authentication comes before validation: 401 whatever the body or query; a key's invalid request is 400, counted against its limit", async () => {
    const { call, live } = setup();
    const invalid = { name: 5, scopes: ["links:read"] };
    expect(codeOf(await call("POST", "/v1/api-keys", { body: invalid }))).toBe("api_key_missing");
    expect(codeOf(await call("GET", "/v1/api-keys?limit=abc"))).toBe("api_key_missing");
    const wrongKey = { authorization: `Bearer ${generateKey("sk", "live")}` };
    const unknown = await call("POST", "/v1/api-keys", { headers: wrongKey, body: invalid });
    expect(codeOf(unknown)).toBe("api_key_invalid");
    const refused = await call("POST", "/v1/api-keys", { key: live, body: invalid });
    expect([refused.status, codeOf(refused), refused.body.error.param]).toEqual([
      400,
      "invalid_request",
      "name",
    ]);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("99");
    const query = await call("GET", "/v1/api-keys?limit=abc", { key: live });
    expect([query.status, query.headers.get("x-ratelimit-remaining")]).toEqual([400, "98"]);
  });

  test("401 api_key_malformed: bad scheme, bad base64, bad checksum, wrong environment tag", async () => {
    const { call, live } = setup();
    const cases: Record<string, string>[] = [
      { authorization: "Token abc" },
      { authorization: "Bearer" },
      { authorization: "Basic %%%not-base64%%%" },
      { authorization: `Basic ${Buffer.from("no-colon").toString("base64")}` },
      { authorization: `Bearer ${tampered(live)}` },
      { authorization: `Bearer ${live.replace("sk_live_", "sk_prod_")}` },
      { authorization: `Bearer ${live.replace("sk_live_", "sk_test_")}` },
      { "x-api-key": "" },
    ];
    for (const headers of cases) {
      const reply = await call("GET", "/v1/me", { headers });
      expect([reply.status, codeOf(reply)]).toEqual([401, "api_key_malformed"]);
    }
  });

  test("a malformed Authorization or X-Api-Key header is told what is wrong with it, never quoted back", async () => {
    const { call, live } = setup();
    const said = async (authorization: string) =>
      (await call("GET", "/v1/me", { headers: { authorization } })).body.error.message;
    const base64 = (text: string) => Buffer.from(text).toString("base64");
    const cases: [string, string][] = [
      [live, 'Authorization is not "<scheme> <credential>" (a secret key goes after Bearer)'],
      ["Bearer", "nothing follows Bearer in Authorization"],
      ["Basic ", "nothing follows Basic in Authorization"],
      [
        `Basic ${base64(`${live}:`)}`,
        "the Basic credential is not public_key:secret_key (a secret key alone goes after Bearer)",
      ],
      [`Basic ${base64("no-colon")}`, "the Basic credential is not public_key:secret_key"],
      [`Token ${live}`, "unsupported Authorization scheme"],
      // Sent twice, the header arrives as one value joined by a comma.
      [
        `Bearer ${live}, Bearer ${live}`,
        "Authorization holds more than one credential (the header was sent twice, or as a list)",
      ],
      [
        `Basic ${base64("pk:sk")}, Basic ${base64("pk:sk")}`,
        "Authorization holds more than one credential (the header was sent twice, or as a list)",
      ],
    ];
    for (const [authorization, reason] of cases) {
      expect(await said(authorization)).toBe(`The credential is not well formed: ${reason}.`);
    }
    const inApiKeyHeader = await call("GET", "/v1/me", {
      headers: { "x-api-key": `Bearer ${live}` },
    });
    expect(inApiKeyHeader.body.error.message).toBe(
      "The credential is not well formed: the X-Api-Key header holds the key alone, with no scheme before it.",
    );
    const twice = new Headers([
      ["x-api-key", live],
      ["x-api-key", live],
    ]);
    const apiKeyTwice = await call("GET", "/v1/me", { headers: Object.fromEntries(twice) });
    expect(apiKeyTwice.body.error.message).toBe(
      "The credential is not well formed: the X-Api-Key header holds more than one credential (the header was sent twice, or as a list).",
    );
  });

  test("a malformed key is told what is wrong with it, quoting no more than its prefix", async () => {
    const { call, kg, platform, live } = setup();
    const pair = livePair(kg, platform);
    const pk = pair.public_key as string;
    const said = async (headers: Record<string, string>) => {
      const reply = await call("GET", "/v1/me", { headers });
      expect(codeOf(reply)).toBe("api_key_malformed");
      const message: string = reply.body.error.message;
      expect(message).not.toContain(live.slice(8, 20));
      return message.replace("The API key is not well formed: ", "");
    };
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    const cases: [Record<string, string>, string][] = [
      [
        bearer("billing-key"),
        "the secret key is not sk_live_… or sk_test_… followed by 32 letters and digits.",
      ],
      [
        bearer(live.slice(0, -1)),
        "the secret key has 31 characters after sk_live_, not 32: it was cut short or runs into other text.",
      ],
      [
        bearer(tampered(live)),
        "the secret key's checksum does not match: a character was mistyped or changed.",
      ],
      [
        bearer(live.replace("sk_live_", "sk_prod_")),
        "the secret key's environment tag is neither live nor test.",
      ],
      [
        bearer(live.replace("sk_", "ck_")),
        "the secret key starts with ck_, but this deployment's start with sk_.",
      ],
      [
        bearer(pk),
        "a public key (pk_…) was sent where the secret key goes; a key pair is sent as Basic public_key:secret_key.",
      ],
      [
        { "x-api-key": tampered(live) },
        "the secret key's checksum does not match: a character was mistyped or changed.",
      ],
      [
        basic(tampered(pk), pair.secret),
        "the public key's checksum does not match: a character was mistyped or changed.",
      ],
      [
        basic(pk, pair.secret.slice(0, -2)),
        "the secret key has 30 characters after sk_live_, not 32: it was cut short or runs into other text.",
      ],
      [
        basic(pk, generateKey("sk", "test")),
        "the public key is live and the secret key test; the two halves of a pair share one environment.",
      ],
      [
        basic(pk, tampered(pair.secret)),
        "the secret key's checksum does not match: a character was mistyped or changed.",
      ],
    ];
    for (const [headers, reason] of cases) expect(await said(headers)).toBe(reason);
  });

  test("a malformed key is refused without a storage lookup", async () => {
    const { call, kg, live } = setup();
    kg.db.sql.exec("DROP TABLE api_key_secrets"); // a lookup would now throw a 500
    const reply = await call("GET", "/v1/me", {
      key: tampered(live),
    });
    expect(codeOf(reply)).toBe("api_key_malformed");
  });

  test("a known key's answers do not depend on whether the index holds it in memory", async () => {
    const { call, kg, platform, live } = setup();
    const pair = livePair(kg, platform);
    const pk = pair.public_key as string;
    const sk = pair.secret;
    const codes = async () => [
      codeOf(await call("GET", "/v1/me", { key: tampered(live) })),
      (await call("GET", "/v1/me", { key: live })).status,
      codeOf(await call("GET", "/v1/me", { headers: basic(pk, tampered(sk)) })),
      codeOf(await call("GET", "/v1/me", { headers: basic(pk, generateKey("sk", "live")) })),
      codeOf(await call("GET", "/v1/me", { headers: basic(tampered(pk), sk) })),
      (await call("GET", "/v1/me", { headers: basic(pk, sk) })).status,
    ];
    const expected = [
      "api_key_malformed",
      200,
      "api_key_malformed",
      "api_key_invalid",
      "api_key_malformed",
      200,
    ];
    expect(await codes()).toEqual(expected); // the first calls fill the index
    expect(kg.keyIndex.cachedByPublicKey(pk)).toBeDefined();
    expect(await codes()).toEqual(expected); // now answered from memory
  });

  test("401 api_key_invalid: well formed but unknown, or a pair's secret mismatch", async () => {
    const { call, kg, platform } = setup();
    expect(codeOf(await call("GET", "/v1/me", { key: generateKey("sk", "live") }))).toBe(
      "api_key_invalid",
    );
    const pair = createApiKey(
      kg,
      { entityId: platform, environment: "live", name: "p", scopes: ["*"], kind: "pair" },
      TEST_ACTOR,
    );
    const wrong = await call("GET", "/v1/me", {
      headers: basic(pair.public_key as string, generateKey("sk", "live")),
    });
    expect([wrong.status, codeOf(wrong)]).toEqual([401, "api_key_invalid"]);
    // A pair's secret is not a Bearer key.
    expect(codeOf(await call("GET", "/v1/me", { key: pair.secret }))).toBe("api_key_invalid");
    const right = await call("GET", "/v1/me", {
      headers: basic(pair.public_key as string, pair.secret),
    });
    expect(right.status).toBe(200);
    expect(right.body.key.public_key).toBe(pair.public_key);
  });

  test("401 api_key_revoked: revoked, or a rotated-out secret past its overlap", async () => {
    const { call, kg, platform, clock } = setup();
    const key = createApiKey(
      kg,
      { entityId: platform, environment: "live", name: "k", scopes: ["*"] },
      TEST_ACTOR,
    );
    const rotated = rotateApiKey(kg, key.id, 60, TEST_ACTOR);
    expect((await call("GET", "/v1/me", { key: key.secret })).status).toBe(200); // inside the overlap
    expect((await call("GET", "/v1/me", { key: rotated.secret })).status).toBe(200);
    clock.advance(61);
    expect(codeOf(await call("GET", "/v1/me", { key: key.secret }))).toBe("api_key_revoked");
    expect((await call("GET", "/v1/me", { key: rotated.secret })).status).toBe(200);
    revokeApiKey(kg, key.id, null, TEST_ACTOR);
    const reply = await call("GET", "/v1/me", { key: rotated.secret });
    expect([reply.status, codeOf(reply)]).toEqual([401, "api_key_revoked"]);
  });

  test("an immediate rotation kills the old secret on the very next request", async () => {
    const { call, kg, platform } = setup();
    const key = createApiKey(
      kg,
      { entityId: platform, environment: "live", name: "k", scopes: ["*"] },
      TEST_ACTOR,
    );
    expect((await call("GET", "/v1/me", { key: key.secret })).status).toBe(200);
    rotateApiKey(kg, key.id, 0, TEST_ACTOR);
    expect(codeOf(await call("GET", "/v1/me", { key: key.secret }))).toBe("api_key_revoked");
  });

  test("401 api_key_expired: past the key's expiry", async () => {
    const { call, kg, platform, clock } = setup();
    const expiresAt = new Date(clock.now().getTime() + 30_000);
    const key = createApiKey(
      kg,
      { entityId: platform, environment: "test", name: "k", scopes: ["*"], expiresAt },
      TEST_ACTOR,
    );
    expect((await call("GET", "/v1/me", { key: key.secret })).status).toBe(200);
    clock.advance(30);
    expect(codeOf(await call("GET", "/v1/me", { key: key.secret }))).toBe("api_key_expired");
  });

  test("401 entity_inactive: the key's entity or an ancestor is deactivated, at once", async () => {
    const { call, kg, platform } = setup();
    const partner = createEntity(
      kg,
      { kind: "partner", name: "P", parentId: platform },
      TEST_ACTOR,
    );
    const merchant = createEntity(
      kg,
      { kind: "merchant", name: "M", parentId: partner.id },
      TEST_ACTOR,
    );
    const key = createApiKey(
      kg,
      { entityId: merchant.id, environment: "live", name: "k", scopes: ["*"] },
      TEST_ACTOR,
    );
    expect((await call("GET", "/v1/me", { key: key.secret })).status).toBe(200);
    deactivateEntity(kg, partner.id, null, TEST_ACTOR);
    const reply = await call("GET", "/v1/me", { key: key.secret });
    expect([reply.status, codeOf(reply)]).toEqual([401, "entity_inactive"]);
  });

  test("403 insufficient_scope names the missing scope; read never implies write", async () => {
    const { call, kg, platform } = setup();
    const reader = createApiKey(
      kg,
      { entityId: platform, environment: "live", name: "r", scopes: ["api_keys:read"] },
      TEST_ACTOR,
    );
    expect((await call("GET", "/v1/api-keys", { key: reader.secret })).status).toBe(200);
    const reply = await call("POST", "/v1/api-keys", {
      key: reader.secret,
      body: { name: "x", scopes: ["api_keys:read"] },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.error).toMatchObject({ type: "permission", code: "insufficient_scope" });
    expect(reply.body.error.message).toContain("api_keys:write");
  });

  test("the X-Api-Key header authenticates, and its name is configurable", async () => {
    const { call, live } = setup();
    expect((await call("GET", "/v1/me", { headers: { "x-api-key": live } })).status).toBe(200);
    const custom = setup({ auth: { api_key_header: "X-Certo-Key" } });
    expect(
      (await custom.call("GET", "/v1/me", { headers: { "x-certo-key": custom.live } })).status,
    ).toBe(200);
    expect(
      codeOf(await custom.call("GET", "/v1/me", { headers: { "x-api-key": custom.live } })),
    ).toBe("api_key_missing");
  });
});

describe("configuration: schemes and renamed codes", () => {
  test("VoltzPay: Bearer off (malformed), Basic on, merchant_inactive", async () => {
    const { call, kg, platform } = setup({
      auth: { bearer: false, api_key_header: false, jwt: false },
      errors: { codes: { entity_inactive: "merchant_inactive" } },
    });
    const merchant = createEntity(
      kg,
      { kind: "merchant", name: "M", parentId: platform },
      TEST_ACTOR,
    );
    const pair = createApiKey(
      kg,
      { entityId: merchant.id, environment: "live", name: "p", scopes: ["*"], kind: "pair" },
      TEST_ACTOR,
    );
    expect(codeOf(await call("GET", "/v1/me", { key: pair.secret }))).toBe("api_key_malformed");
    // With Bearer off, no message points a developer to it.
    const secretAlone = `Basic ${Buffer.from(`${pair.secret}:`).toString("base64")}`;
    expect(
      (await call("GET", "/v1/me", { headers: { authorization: secretAlone } })).body.error.message,
    ).toBe("The credential is not well formed: the Basic credential is not public_key:secret_key.");
    expect(codeOf(await call("GET", "/v1/me", { headers: { "x-api-key": pair.secret } }))).toBe(
      "api_key_missing",
    );
    expect(
      (await call("GET", "/v1/me", { headers: basic(pair.public_key as string, pair.secret) }))
        .status,
    ).toBe(200);
    deactivateEntity(kg, merchant.id, null, TEST_ACTOR);
    expect(
      codeOf(
        await call("GET", "/v1/me", { headers: basic(pair.public_key as string, pair.secret) }),
      ),
    ).toBe("merchant_inactive");
  });

  test("CertoPay: invalid_api_key, insufficient_permissions", async () => {
    const { call, kg, platform } = setup({
      errors: {
        codes: {
          api_key_missing: "invalid_api_key",
          api_key_malformed: "invalid_api_key",
          api_key_invalid: "invalid_api_key",
          api_key_revoked: "invalid_api_key",
          insufficient_scope: "insufficient_permissions",
        },
      },
    });
    expect(codeOf(await call("GET", "/v1/me"))).toBe("invalid_api_key");
    expect(codeOf(await call("GET", "/v1/me", { key: generateKey("sk", "live") }))).toBe(
      "invalid_api_key",
    );
    const reader = createApiKey(
      kg,
      { entityId: platform, environment: "live", name: "r", scopes: ["links:read"] },
      TEST_ACTOR,
    );
    const reply = await call("GET", "/v1/api-keys", { key: reader.secret });
    expect([reply.status, codeOf(reply)]).toEqual([403, "insufficient_permissions"]);
  });
});

describe("management JWTs", () => {
  async function login(t: ReturnType<typeof setup>) {
    await givenUser(t.kg, {
      email: "ops@example.com",
      password: "correct horse battery",
      entityId: t.platform,
    });
    const reply = await t.call("POST", "/v1/auth/login", {
      body: { email: "OPS@example.com", password: "correct horse battery" },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.token_type).toBe("Bearer");
    return reply.body.token as string;
  }

  test("a token works on /v1/api-keys* and is refused elsewhere with token_not_accepted", async () => {
    const t = setup();
    const token = await login(t);
    expect((await t.call("GET", "/v1/api-keys", { key: token })).status).toBe(200);
    const me = await t.call("GET", "/v1/me", { key: token });
    expect([me.status, codeOf(me)]).toEqual([401, "token_not_accepted"]);
    expect(codeOf(await t.call("GET", "/v1/events", { key: token }))).toBe("token_not_accepted");
  });

  test("401 expired_token past exp; tampered and alg:none tokens are refused", async () => {
    const t = setup();
    const token = await login(t);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 3600 })).toString(
      "base64url",
    );
    expect(
      codeOf(await t.call("GET", "/v1/api-keys", { key: `${header}.${forged}.${signature}` })),
    ).toBe("invalid_token");
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    expect(codeOf(await t.call("GET", "/v1/api-keys", { key: `${none}.${payload}.` }))).toBe(
      "invalid_token",
    );
    // Properly signed, but without the password fingerprint every token carries (an older
    // server's token): refused, since it cannot be tied to the current password.
    const { pwd: _pwd, ...unbound } = claims;
    const old = signToken(unbound as ManagementClaims, t.kg.jwtSecret);
    expect(codeOf(await t.call("GET", "/v1/api-keys", { key: old }))).toBe("invalid_token");
    t.clock.advance(15 * 60);
    const expired = await t.call("GET", "/v1/api-keys", { key: token });
    expect([expired.status, codeOf(expired)]).toEqual([401, "expired_token"]);
  });

  test("a user whose entity is deactivated: 401 entity_inactive, for its token and at login", async () => {
    const t = setup();
    const partner = createEntity(
      t.kg,
      { kind: "partner", name: "P", parentId: t.platform },
      TEST_ACTOR,
    );
    const credentials = { email: "p@example.com", password: "correct horse battery" };
    await givenUser(t.kg, { ...credentials, entityId: partner.id });
    const token = (await t.call("POST", "/v1/auth/login", { body: credentials })).body.token;
    await t.call("POST", `/v1/entities/${partner.id}/deactivate`, { key: t.live });
    for (const reply of [
      await t.call("GET", "/v1/api-keys", { key: token }),
      await t.call("POST", "/v1/auth/login", { body: credentials }),
    ]) {
      expect([reply.status, codeOf(reply)]).toEqual([401, "entity_inactive"]);
      expect(reply.body.error.message).toBe("The entity this user belongs to is inactive.");
    }
  });

  test("with auth.jwt off there is no sign-in: no token is handed out that every route refuses", async () => {
    const t = setup({ auth: { jwt: false } });
    const credentials = { email: "ops@example.com", password: "correct horse battery" };
    await givenUser(t.kg, { ...credentials, entityId: t.platform });
    const reply = await t.call("POST", "/v1/auth/login", { body: credentials });
    expect([reply.status, codeOf(reply)]).toEqual([404, "resource_missing"]);
    expect(reply.body.token).toBeUndefined();
    const paths = (await t.call("GET", "/openapi.json")).body.paths;
    expect(paths["/v1/auth/login"]).toBeUndefined();
    // A user keeps their own password: changing it needs no token.
    const changed = await t.call("POST", "/v1/auth/password", {
      body: { ...credentials, new_password: "another horse battery" },
    });
    expect(changed.status).toBe(200);
  });

  test("a wrong password or unknown email: invalid_credentials, no token", async () => {
    const t = setup();
    await login(t);
    for (const body of [
      { email: "ops@example.com", password: "wrong password!" },
      { email: "nobody@example.com", password: "whatever it is" },
    ]) {
      const reply = await t.call("POST", "/v1/auth/login", { body });
      expect([reply.status, codeOf(reply)]).toEqual([401, "invalid_credentials"]);
      expect(reply.body.token).toBeUndefined();
    }
  });
});

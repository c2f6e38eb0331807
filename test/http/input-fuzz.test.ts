/**
 * "Bad input always gets a clear error in the envelope, never a 500 and never lost data", over
 * seeded random requests to every route the OpenAPI document lists. Each request is built from
 * the route's own schemas — path ids that exist, that do not and that are not ids; query values
 * of every form; bodies whose fields are drawn from values that fit, values that almost fit and
 * values of the wrong type, sometimes with a field missing, unknown (a secret's name among them)
 * or replaced, sometimes no JSON at all — sent with the platform key, another key, a broken one or none, and now and then
 * an `Idempotency-Key`. A secret that was never issued is planted among the values.
 *
 * After each request: no 500 and no internal error reported; every answer carries its request
 * id; every error is the envelope naming that id; nothing answers with the caller's secret or
 * the planted one; and a refused request wrote nothing but, at most, the record of its
 * idempotent result. After each history: the log verifies, the projections equal a replay of
 * it, and no row of any table holds a secret — the planted one, the callers', or any a creation
 * or rotation returned.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { replayAndCompare } from "../../src/audit/replay.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import type { SqlConnection } from "../../src/db/sql.ts";
import { generateKey } from "../../src/keys/key-format.ts";
import { headPositionOf } from "../../src/store/event-store.ts";
import { type Reply, tampered, testAppPerTest } from "../support/http.ts";
import { tempDir } from "../support/keygate.ts";
import { type Random, seededRandom } from "../support/random.ts";

const openTestApp = testAppPerTest();
const scratch = tempDir();
afterAll(scratch.remove);

/** The part of a JSON Schema (as the OpenAPI document gives it) the generator reads. */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

/** One route and method, with what the generator fills in. */
interface Operation {
  method: string;
  path: string;
  query: string[];
  body?: Schema;
}

/** A secret in the right format, with a valid checksum, that Keygate never issued. */
const PLANTED = generateKey("sk", "live");

/** Values of the wrong type or size, for any field. */
const WEIRD: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  "",
  " ",
  "x".repeat(5_000),
  "\ud800",
  "a\u0000b",
  [],
  {},
  [[[]]],
  { nested: { deeper: [1, "two"] } },
  PLANTED,
];

/** Values of a field: those that fit (usually drawn) and those that almost fit or do not. */
interface Values {
  good: unknown[];
  bad: unknown[];
}

/** The values of every field the routes read, by name. */
function valuesByName(
  ids: string[],
  credentials: string[],
  publicKey: string,
): Record<string, Values> {
  const id = { good: ids, bad: ["ent_doesnotexist", "key_doesnotexist", "usr_x", "not-an-id"] };
  const credential = {
    good: credentials,
    bad: [PLANTED, tampered(credentials[0] as string), "pk_live_x", "sk_"],
  };
  const password = { good: ["a long enough password"], bad: ["short", ""] };
  return {
    name: {
      good: ["shop", "  padded  ", "日本の店舗"],
      bad: ["x".repeat(201), "a\u001b[2K", `my ${PLANTED}`],
    },
    scopes: {
      good: [["links:read"], ["*"], ["api_keys:write", "links:*"]],
      bad: [["bad scope"], [], ["LINKS:READ"]],
    },
    environment: { good: ["live", "test"], bad: ["prod"] },
    entity_id: id,
    parent_id: id,
    kind: { good: ["secret", "pair", "partner", "merchant", "branch"], bad: ["platform", "shop"] },
    rate_limit: {
      good: [{ limit: 5, window_seconds: 1 }, null],
      bad: [
        { limit: "10", window_seconds: "60" },
        { limit: 0, window_seconds: 86_401 },
      ],
    },
    expires_at: {
      good: ["2030-01-01T00:00:00Z", null],
      bad: ["2020-01-01T00:00:00Z", "2030-02-30T00:00:00Z", "soon"],
    },
    reference: { good: ["ref-1", null], bad: ["", "r".repeat(101), PLANTED] },
    reason: { good: ["rotated by ops", null], bad: ["", "r".repeat(501), `leaked ${PLANTED}`] },
    email: {
      good: ["ops@example.com", "OPS@EXAMPLE.COM", "new@example.com"],
      bad: ["no-at-sign", `${PLANTED}@example.com`],
    },
    password,
    new_password: password,
    key: credential,
    secret: credential,
    public_key: { good: [publicKey], bad: ["pk_live_x", PLANTED] },
    expire_previous_in: { good: [0, 60], bad: [-1, 1e12, "60"] },
  };
}

/** A value for `schema`: one of the named field's values, or one built from its type. */
function valueFor(
  rng: Random,
  schema: Schema,
  named: Record<string, Values>,
  field?: string,
): unknown {
  if (rng.chance(0.04)) return rng.pick(WEIRD);
  const known = field ? named[field] : undefined;
  if (known && rng.chance(0.9)) return rng.pick(rng.chance(0.8) ? known.good : known.bad);
  if (schema.anyOf) return valueFor(rng, rng.pick(schema.anyOf), named, field);
  if (schema.enum) return rng.pick(schema.enum);
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  switch (type) {
    case "object": {
      const body: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(schema.properties ?? {}))
        if (schema.required?.includes(name) ? rng.chance(0.95) : rng.chance(0.4))
          body[name] = valueFor(rng, property, named, name);
      // A secret pasted as a member's name: the error names the member, never whole.
      if (rng.chance(0.05)) body[rng.pick(["colour", "__proto__", "constructor", PLANTED])] = 1;
      return body;
    }
    case "array":
      return Array.from({ length: rng.int(3) }, () =>
        valueFor(rng, schema.items ?? {}, named, field),
      );
    case "integer":
    case "number":
      return rng.pick([0, 1, 60, -5, 2 ** 53]);
    case "boolean":
      return rng.chance(0.5);
    case "null":
      return null;
    default:
      return rng.pick(["text", "", "x".repeat(300)]);
  }
}

/** The envelope's types (SPEC §3). */
const ERROR_TYPES =
  /^(authentication|permission|rate_limited|idempotency|invalid_request|api_error)$/;

/** Bodies that are not what any route reads. */
const RAW_BODIES = ["", "null", "[]", "{", '"text"', "1e999", `${"[".repeat(40)}${"]".repeat(40)}`];

/** A path segment in place of `{id}`, as sent: `%ZZ` is percent-encoding that does not decode. */
function idSegment(rng: Random, ids: string[]): string {
  if (rng.chance(0.7)) return rng.pick(ids);
  return rng.pick(["key_doesnotexist", "%ZZ", "..", "%2F", "x".repeat(500), "%E6%97%A5", PLANTED]);
}

/** A query parameter's value, as sent. */
function queryValue(rng: Random, ids: string[]): string {
  return rng.pick(["", "0", "1", "100", "101", "-1", "abc", "%ZZ", "active", "revoked", ...ids]);
}

/** Every route with its query parameters and body schema, from GET /openapi.json. */
async function operations(call: (m: string, p: string) => Promise<Reply>): Promise<Operation[]> {
  const spec = (await call("GET", "/openapi.json")).body;
  const found: Operation[] = [];
  for (const [path, methods] of Object.entries<Record<string, any>>(spec.paths))
    for (const [method, op] of Object.entries<any>(methods))
      found.push({
        method: method.toUpperCase(),
        path,
        query: (op.parameters ?? []).filter((p: any) => p.in === "query").map((p: any) => p.name),
        body: op.requestBody?.content?.["application/json"]?.schema,
      });
  return found;
}

/** Every text cell of every table, for a search of the whole database. */
function everyCell(sql: SqlConnection): string {
  const tables = sql
    .prepare<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .all()
    .map((row) => row.name);
  return tables
    .map((table) => JSON.stringify(sql.prepare(`SELECT * FROM "${table}"`).all()))
    .join("\n");
}

/**
 * A merchant under the platform with a narrow key and a key pair, and a dashboard user at the
 * platform who has signed in: the callers besides the platform's keys, and the first ids.
 */
async function givenCallers(t: ReturnType<typeof openTestApp>) {
  const as = { key: t.live };
  const merchant = await t.call("POST", "/v1/entities", {
    ...as,
    body: { kind: "merchant", name: "shop", parent_id: t.platform },
  });
  const keyBody = { entity_id: merchant.body.id, scopes: ["links:read", "api_keys:write"] };
  const narrow = await t.call("POST", "/v1/api-keys", { ...as, body: { ...keyBody, name: "n" } });
  const pair = await t.call("POST", "/v1/api-keys", {
    ...as,
    body: { ...keyBody, name: "p", kind: "pair" },
  });
  const password = "a long enough password";
  const user = await t.call("POST", "/v1/users", {
    ...as,
    body: { email: "ops@example.com", password, entity_id: t.platform },
  });
  const login = await t.call("POST", "/v1/auth/login", {
    body: { email: "ops@example.com", password },
  });
  for (const reply of [merchant, narrow, pair, user, login]) expect(reply.status).toBe(200);
  const basic = btoa(`${pair.body.public_key}:${pair.body.secret}`);
  return {
    ids: [t.platform, merchant.body.id, narrow.body.id, pair.body.id, user.body.id],
    secrets: [t.live, t.test, narrow.body.secret, pair.body.secret] as string[],
    publicKey: pair.body.public_key as string,
    /** Authorization headers, the platform's live key first (the one most requests carry). */
    authorizations: [
      `Bearer ${t.live}`,
      `Bearer ${t.test}`,
      `Bearer ${narrow.body.secret}`,
      `Basic ${basic}`,
      `Bearer ${login.body.token}`,
    ],
  };
}

describe("random bad input to every route", () => {
  // 110 and 128 replay a recorded error (found running seeds 100–199 once: all pass).
  for (const seed of [1, 2, 3, 4, 5, 6, 110, 128]) {
    test(`seed ${seed}: 400 random requests; never a 500, always the envelope, nothing lost or leaked`, async () => {
      const rng = seededRandom(seed);
      const path = join(scratch.dir, `fuzz-${seed}.db`);
      const t = openTestApp({ env: { KEYGATE_DB: path } });
      const { ids, secrets, publicKey, authorizations } = await givenCallers(t);
      const ops = await operations(t.call);
      expect(ops.length).toBeGreaterThan(25);
      const issued: string[] = [];
      // Its ids are `ids` itself: the ids of objects created along the way join it as they come.
      const named = valuesByName(ids, secrets, publicKey);
      for (let step = 0; step < 400; step++) {
        const op = rng.pick(ops);
        let url = op.path.replace("{id}", () => idSegment(rng, ids));
        if (rng.chance(0.05)) url = rng.pick(["/v1/nowhere", "/v1/api-keys/", "//v1/me", "/v1"]);
        const query = op.query
          .filter(() => rng.chance(0.4))
          .map((name) => `${name}=${queryValue(rng, ids)}`);
        if (query.length > 0 && rng.chance(0.1)) query.push(query[0] as string);
        if (rng.chance(0.03)) query.push(`${PLANTED}=1`);
        if (query.length > 0) url += `?${query.join("&")}`;
        let body: unknown;
        if (op.body || rng.chance(0.05))
          body = rng.chance(0.1) ? rng.pick(RAW_BODIES) : valueFor(rng, op.body ?? {}, named);
        const headers: Record<string, string> = {};
        const auth = rng.int(10);
        if (auth < 4) headers.authorization = authorizations[0] as string;
        else if (auth < 7) headers.authorization = rng.pick(authorizations);
        else if (auth === 7) headers.authorization = rng.pick(["Bearer", "Basic %%%", "Bearer x"]);
        else if (auth === 8) headers["x-api-key"] = rng.pick([...secrets, PLANTED]);
        if (rng.chance(0.2))
          headers["idempotency-key"] = rng.pick(["retry-0001", "retry-0002", "short", PLANTED]);
        t.clock.advance(1); // past the per-key limit of 100 a second, most of the time

        const before = headPositionOf(t.kg.db.sql);
        const where = `seed ${seed}, step ${step}: ${op.method} ${url}`;
        const reply = await t.call(op.method, url, { headers, body });

        expect({ where, status: reply.status < 500 }).toEqual({ where, status: true });
        expect(t.internalErrors).toEqual([]);
        const requestId = reply.headers.get("x-request-id");
        expect(requestId).toMatch(/^req_/);
        for (const secret of [...secrets, PLANTED]) expect(reply.text).not.toContain(secret);
        const written = t.kg.db.sql
          .prepare<{ type: string }>("SELECT type FROM events WHERE position > ?")
          .all(before)
          .map((row) => row.type);
        if (reply.status >= 400) {
          // A replayed error is the first answer byte for byte: its requestId is the first
          // request's (docs/idempotency.md), the X-Request-Id header the retry's own.
          const replayed = reply.headers.get("idempotent-replayed") === "true";
          expect({ where, error: reply.body?.error }).toMatchObject({
            where,
            error: {
              type: expect.stringMatching(ERROR_TYPES),
              code: expect.any(String),
              message: expect.stringMatching(/./),
              requestId: replayed ? expect.stringMatching(/^req_/) : requestId,
            },
          });
          expect(reply.headers.get("content-type")).toStartWith("application/json");
          expect({
            where,
            written: written.filter((type) => type !== "idempotency.recorded"),
          }).toEqual({ where, written: [] });
        } else {
          const { id, secret } = reply.body ?? {};
          if (typeof id === "string" && !ids.includes(id)) ids.push(id);
          if (typeof secret === "string") issued.push(secret);
        }
      }
      expect(verifyLog(t.kg.db.sql).ok).toBe(true);
      t.kg.usage.flush();
      expect(
        replayAndCompare(path, { now: () => new Date(), scratchDir: scratch.dir }).differences,
      ).toEqual([]);
      const cells = everyCell(t.kg.db.sql);
      for (const secret of [...secrets, PLANTED, ...issued]) expect(cells).not.toContain(secret);
      expect(cells).not.toContain(PLANTED.slice(8, 30));
    });
  }
});

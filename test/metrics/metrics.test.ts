/** `GET /metrics` (issue 6): Prometheus text, open to allowed addresses or the token only. */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { checkpointKey } from "../../src/audit/checkpoint-key.ts";
import { appendCheckpoint } from "../../src/audit/checkpoints.ts";
import { initPlatform } from "../../src/commands/init.ts";
import { addressList } from "../../src/config/address-list.ts";
import { mayScrape, scrapedGauges } from "../../src/metrics/index.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { codeOf, testAppPerTest } from "../support/http.ts";
import { TEST_ACTOR, tempDir, testKeygate } from "../support/keygate.ts";

const testApp = testAppPerTest();
const TOKEN = "metrics-token-0123456789";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  test("counts requests by route and status, auth failures by code, 429s, replays, verification time", async () => {
    const { call, live } = testApp({
      env: { KEYGATE_METRICS_TOKEN: TOKEN },
      config: {
        rate_limits: {
          routes: [{ method: "GET", path: "/v1/events", limit: 1, window_seconds: 60 }],
        },
      },
    });
    await call("GET", "/v1/me", { key: live });
    await call("GET", "/v1/me", { key: live });
    await call("GET", "/v1/me");
    await call("GET", "/v1/events", { key: live });
    await call("GET", "/v1/events", { key: live });
    const create = () =>
      call("POST", "/v1/api-keys", {
        key: live,
        headers: { "idempotency-key": "metrics-0001" },
        body: { name: "m", scopes: ["links:read"] },
      });
    await create();
    await create();
    await call("GET", "/v1/api-keys/key_nope", { key: live });
    await call("GET", "/nowhere/at/all");
    await Bun.sleep(20); // requests are counted after their response has gone out

    const reply = await call("GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = reply.text;
    expect(sample(text, 'keygate_requests_total{method="GET",route="/v1/me",status="200"}')).toBe(
      2,
    );
    expect(sample(text, 'keygate_requests_total{method="GET",route="/v1/me",status="401"}')).toBe(
      1,
    );
    expect(
      sample(text, 'keygate_requests_total{method="GET",route="/v1/events",status="429"}'),
    ).toBe(1);
    expect(
      sample(text, 'keygate_requests_total{method="GET",route="/v1/api-keys/:id",status="404"}'),
    ).toBe(1);
    expect(
      sample(text, 'keygate_requests_total{method="GET",route="unmatched",status="404"}'),
    ).toBe(1);
    expect(sample(text, 'keygate_auth_failures_total{code="api_key_missing"}')).toBe(1);
    expect(sample(text, "keygate_rate_limited_total")).toBe(1);
    expect(sample(text, "keygate_idempotent_replays_total")).toBe(1);
    // Every authentication was timed: 7 with a key, 1 without (the scrape itself is not one).
    expect(sample(text, "keygate_key_verification_seconds_count")).toBe(8);
    expect(sample(text, 'keygate_key_verification_seconds_bucket{le="+Inf"}')).toBe(8);
    expect(text).toContain("# TYPE keygate_key_verification_seconds histogram");
  });

  test("a method other than HTTP's is counted as _OTHER: a client cannot add a label per method it makes up", async () => {
    const { call, live } = testApp({ env: { KEYGATE_METRICS_TOKEN: TOKEN } });
    // Bun's server takes WebDAV's methods too; Deno's any token (the e2e test sends those).
    await call("PROPFIND", "/v1/me", { key: live });
    await call("MKCOL", "/nowhere");
    await call("PATCH", "/v1/me", { key: live });
    await Bun.sleep(20);
    const text = (await call("GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } }))
      .text;
    expect(text).not.toContain("PROPFIND");
    expect(text).not.toContain("MKCOL");
    expect(
      sample(text, 'keygate_requests_total{method="_OTHER",route="unmatched",status="404"}'),
    ).toBe(2);
    expect(
      sample(text, 'keygate_requests_total{method="PATCH",route="unmatched",status="404"}'),
    ).toBe(1);

    const metrics = new Metrics();
    for (let i = 0; i < 1000; i++) metrics.request(`M${i}`, "unmatched", 404);
    // HTTP's nine, each a series of its own (docs/gateway.md#metrics).
    for (const method of "GET HEAD POST PUT PATCH DELETE OPTIONS CONNECT TRACE".split(" "))
      metrics.request(method, "unmatched", 404);
    const lines = metrics
      .render()
      .split("\n")
      .filter((l) => l.startsWith("keygate_requests_total{"));
    expect(lines).toHaveLength(10);
    expect(lines).toContain(
      'keygate_requests_total{method="_OTHER",route="unmatched",status="404"} 1000',
    );
  });

  test("gauges: the log's events, those the latest signed checkpoint covers, read at each scrape", async () => {
    const { call, live, kg, clock } = testApp({ env: { KEYGATE_METRICS_TOKEN: TOKEN } });
    const scrape = async () =>
      (await call("GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } })).text;
    const count = () =>
      kg.db.sql.prepare<{ n: number }>("SELECT COUNT(*) AS n FROM events").get()?.n ?? -1;
    const events = count();
    expect(events).toBe(3); // the platform entity and its two keys
    let text = await scrape();
    expect(text).toContain("# TYPE keygate_log_events gauge");
    expect(sample(text, "keygate_log_events")).toBe(events);
    expect(sample(text, "keygate_log_checkpointed_events")).toBe(0);
    expect(sample(text, "keygate_database_bytes")).toBe(0); // in memory
    await call("POST", "/v1/api-keys", { key: live, body: { name: "m", scopes: ["links:read"] } });
    appendCheckpoint(kg.db.sql, checkpointKey(kg.config, kg.db.sql), clock.now());
    await call("POST", "/v1/api-keys", { key: live, body: { name: "n", scopes: ["links:read"] } });
    text = await scrape();
    expect(sample(text, "keygate_log_events")).toBe(count());
    expect(count()).toBe(events + 2);
    expect(sample(text, "keygate_log_checkpointed_events")).toBe(events + 1);
  });

  test("gauges: the bytes the database file and its write-ahead log take on disk", () => {
    const dir = tempDir();
    const path = join(dir.dir, "kg.sqlite");
    const kg = testKeygate({ path });
    try {
      initPlatform(kg, TEST_ACTOR);
      const bytes = scrapedGauges(kg).find((g) => g.name === "keygate_database_bytes")?.value;
      expect(bytes).toBe(statSync(path).size + statSync(`${path}-wal`).size);
      expect(bytes).toBeGreaterThan(0);
    } finally {
      kg.close();
      dir.remove();
    }
  });

  test("refused without the token from an address not allowed: 403 access_denied", async () => {
    const { call } = testApp({ env: { KEYGATE_METRICS_TOKEN: TOKEN } });
    const reply = await call("GET", "/metrics", {
      headers: { authorization: "Bearer wrong-token-000000000" },
    });
    expect(reply.status).toBe(403);
    expect(codeOf(reply)).toBe("access_denied");
  });

  test("off by configuration: 404", async () => {
    const { call } = testApp({ config: { metrics: { enabled: false } } });
    expect((await call("GET", "/metrics")).status).toBe(404);
  });

  test("allowed addresses scrape without a token", () => {
    const config = {
      enabled: true,
      allow: addressList(["127.0.0.1", "10.0.0.5"]),
      token: undefined,
    };
    expect(mayScrape(config, "10.0.0.5", null)).toBe(true);
    expect(mayScrape(config, "10.0.0.6", null)).toBe(false);
    expect(mayScrape({ ...config, token: TOKEN }, "10.0.0.6", `Bearer ${TOKEN}`)).toBe(true);
  });
});

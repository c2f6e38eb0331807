import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/keygate.ts";
import { startPreset } from "../support/preset.ts";
import { sendRaw } from "../support/raw-http.ts";
import { startServer } from "../support/server.ts";
import { keygate } from "../support/spawn.ts";
import { ROOT, serveCommand } from "../support/target.ts";
import { selfSignedCertificate } from "../support/tls.ts";

const tmp = tempDir();
afterAll(tmp.remove);

/** Runs `serve` with `env` added, expecting it to stop by itself; its exit code and output. */
async function runServeToExit(env: Record<string, string>) {
  const { cmd, cwd } = serveCommand();
  const child = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, KEYGATE_CONFIG: "", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

describe("keygate serve (as the README starts it)", () => {
  test("on an empty database it runs init, prints the two platform keys once, and answers health checks", async () => {
    const env = { KEYGATE_DB: join(tmp.dir, "serve", "keygate.sqlite") };
    const first = await startServer(env);
    try {
      expect(first.startupOutput).toMatch(/live: sk_live_[0-9A-Za-z]{32}/);
      expect(first.startupOutput).toMatch(/test: sk_test_[0-9A-Za-z]{32}/);
      const health = await fetch(`${first.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready" });
    } finally {
      await first.stop();
    }

    const second = await startServer(env);
    try {
      expect(second.startupOutput).not.toMatch(/sk_(live|test)_/);
      expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  test("access lines go to stdout, one JSON line per request, unless KEYGATE_ACCESS_LOG=off", async () => {
    const db = join(tmp.dir, "access", "keygate.sqlite");
    const accessLines = (output: string) =>
      output.split("\n").filter((line) => line.startsWith("{") && line.includes('"request_id"'));
    for (const [setting, expected] of [
      ["stdout", 2],
      ["off", 0],
    ] as const) {
      const server = await startServer({ KEYGATE_DB: db, KEYGATE_ACCESS_LOG: setting });
      try {
        await fetch(`${server.url}/healthz`);
        await fetch(`${server.url}/v1/me`);
      } finally {
        await server.stop();
      }
      const lines = accessLines(server.output());
      expect(lines).toHaveLength(expected);
      if (expected > 0)
        expect(lines.map((line) => JSON.parse(line).status).sort()).toEqual([200, 401]);
    }
  });

  test("bodies over 1 MiB get 413; nested thousands deep, not an object, or missing, 400; compressed, 415 — in the envelope", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "bodies", "keygate.sqlite") });
    try {
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      const post = (body?: string, path = "/v1/api-keys") =>
        fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${live}`, "content-type": "application/json" },
          body,
        });
      const messageOf = async (reply: Response) => [
        reply.status,
        ((await reply.json()) as { error: { message: string } }).error.message,
      ];
      expect(await messageOf(await post("[]"))).toEqual([
        400,
        "The body must be a JSON object, not an array.",
      ]);
      expect(await messageOf(await post(undefined, "/v1/auth/login"))).toEqual([
        400,
        "The body is missing: this route takes a JSON object.",
      ]);
      const created = (await (
        await post(JSON.stringify({ name: "x", scopes: ["links:read"] }))
      ).json()) as { id: string };
      expect(await messageOf(await post("5", `/v1/api-keys/${created.id}/rotate`))).toEqual([
        400,
        "The body must be a JSON object, not a number.",
      ]);
      expect((await post(undefined, `/v1/api-keys/${created.id}/rotate`)).status).toBe(200);
      const large = await post(JSON.stringify({ name: "x".repeat(2 * 1024 * 1024), scopes: [] }));
      expect(large.status).toBe(413);
      expect(((await large.json()) as { error: { code: string } }).error.code).toBe(
        "request_too_large",
      );
      const deep = await post(`{"name":${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
      expect(deep.status).toBe(400);
      expect(((await deep.json()) as { error: { message: string } }).error.message).toContain(
        "deeper than 32 levels",
      );
      const zipped = await fetch(`${server.url}/v1/api-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${live}`, "content-encoding": "gzip" },
        body: Bun.gzipSync(JSON.stringify({ name: "x", scopes: ["links:read"] })),
      });
      expect([zipped.status, zipped.headers.get("accept-encoding")]).toEqual([415, "identity"]);
      expect(((await zipped.json()) as { error: { code: string } }).error.code).toBe(
        "unsupported_content_encoding",
      );
    } finally {
      await server.stop();
    }
  });

  test("behind a trusted proxy, failed authentications are counted per forwarded client, not for everyone", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "proxy", "keygate.sqlite") });
    try {
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      // The test connects over loopback: a trusted proxy by default (gateway.trusted_proxies).
      const me = (client: string, key: string) =>
        fetch(`${server.url}/v1/me`, {
          headers: { authorization: `Bearer ${key}`, "x-real-ip": client },
        });
      const wrong = `sk_live_${"0".repeat(32)}`;
      for (let i = 0; i < 30; i++) await (await me("203.0.113.7", wrong)).arrayBuffer();
      expect((await me("203.0.113.7", live as string)).status).toBe(429);
      expect((await me("203.0.113.8", live as string)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("GET /metrics: open to a scraper on loopback, closed to a client a local proxy forwards; a made-up method adds no label", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "metrics", "keygate.sqlite") });
    try {
      const scrape = (headers: Record<string, string> = {}) =>
        fetch(`${server.url}/metrics`, { headers });
      const local = await scrape();
      expect(local.status).toBe(200);
      expect(await local.text()).toContain("# TYPE");
      const forwardedBy: Record<string, string>[] = [
        { "x-real-ip": "203.0.113.9" },
        { "x-forwarded-for": "203.0.113.9" },
        // A client's own X-Real-IP naming loopback, passed on by a proxy (Caddy) that appended
        // the client's true address to X-Forwarded-For: the two disagree, so neither is believed.
        { "x-real-ip": "127.0.0.1", "x-forwarded-for": "203.0.113.9" },
      ];
      for (const forwarded of forwardedBy) {
        const through = await scrape(forwarded);
        expect(through.status).toBe(403);
        await through.arrayBuffer();
      }
      // Methods a client makes up: Bun's server refuses them, Deno's passes them on. Either
      // way none becomes a label of its own, which would grow the counters without end.
      for (const method of ["FOO1", "FOO2", "PROPFIND"])
        await sendRaw(
          server.url,
          `${method} /v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
        );
      const after = await (await scrape()).text();
      expect(after).not.toMatch(/method="(FOO|PROPFIND)/);
    } finally {
      await server.stop();
    }
  });

  test("SIGTERM lets a request in flight finish before the server exits", async () => {
    const calmony = await startPreset("calmony", join(tmp.dir, "graceful"));
    try {
      let arrived: () => void = () => {};
      const atUpstream = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      calmony.upstream.answer(async () => {
        arrived();
        await Bun.sleep(400);
        return Response.json({ object: "payment", slow: true });
      });
      const inFlight = fetch(`${calmony.server.url}/v1/payments`, {
        headers: { authorization: `Bearer ${calmony.live}` },
      });
      await atUpstream;
      calmony.server.process.kill("SIGTERM");
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ object: "payment", slow: true });
      expect(await calmony.server.process.exited).toBe(0);
    } finally {
      await calmony.stop();
    }
  });

  test("a stop whose last flush of last-used times fails says so on stderr, exits 1 and still releases the database", async () => {
    const dbPath = join(tmp.dir, "flush-fails", "keygate.sqlite");
    const server = await startServer({ KEYGATE_DB: dbPath });
    const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
    const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${live}` } });
    expect(me.status).toBe(200); // a use now pending, written at the stop
    // Another process holds the write lock past the server's busy_timeout.
    const other = new Database(dbPath);
    other.exec("BEGIN IMMEDIATE");
    try {
      server.process.kill("SIGTERM");
      expect(await server.process.exited).toBe(1);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    const stderr = await new Response(server.process.stderr).text();
    expect(stderr).toContain(
      "stopping: the last-used times of the last few seconds could not be written",
    );
    expect(stderr).toContain("database is locked");
    expect(existsSync(`${dbPath}.serve.pid`)).toBe(false);
    // The next start finds the database as it was and serves the same key.
    const again = await startServer({ KEYGATE_DB: dbPath });
    try {
      const after = await fetch(`${again.url}/v1/me`, {
        headers: { authorization: `Bearer ${live}` },
      });
      expect(after.status).toBe(200);
    } finally {
      await again.stop();
    }
  }, 30_000);

  test("a body over Bun's own 128 MiB cap gets Keygate's 413 in the envelope, with its request id, not the server's bare one", async () => {
    const server = await startServer({ KEYGATE_DB: join(tmp.dir, "huge-body", "keygate.sqlite") });
    try {
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      const reply = await fetch(`${server.url}/v1/api-keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${live}`, "content-type": "application/json" },
        body: new Uint8Array(129 * 1024 * 1024),
      });
      expect(reply.status).toBe(413);
      expect(reply.headers.get("x-request-id")).toMatch(/^req_/);
      expect(await reply.json()).toMatchObject({
        error: {
          code: "request_too_large",
          message: "The request body is over the limit of 1048576 bytes.",
        },
      });
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("when the process reading its stdout goes away (EPIPE), it keeps serving, drops the access log and says so on stderr", async () => {
    const { cmd, cwd } = serveCommand();
    const child = Bun.spawn(cmd, {
      cwd,
      env: {
        ...process.env,
        KEYGATE_PORT: "0",
        KEYGATE_CONFIG: "",
        KEYGATE_DB: join(tmp.dir, "stdout-gone", "keygate.sqlite"),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      // Read up to the start-up line (and the platform keys before it), then close the pipe,
      // as a `| tee` or a log shipper that exits does.
      const reader = child.stdout.getReader();
      let output = "";
      while (!/listening on \S+/.test(output)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`server exited: ${output}`);
        output += new TextDecoder().decode(value);
      }
      const url = (/listening on (\S+)/.exec(output) as RegExpExecArray)[1];
      const key = (/live: (sk_live_\w+)/.exec(output) as RegExpExecArray)[1];
      await reader.cancel();
      // Each request's access line is written a turn after it: the later requests meet the
      // closed pipe's aftermath, and must still be answered.
      for (let i = 0; i < 5; i++) {
        const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
        expect(me.status).toBe(200);
        await Bun.sleep(50);
      }
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
    const stderr = await new Response(child.stderr).text();
    expect(stderr).toContain("stdout cannot be written: the access log is dropped from now on");
    expect(stderr.match(/stdout cannot be written/g)).toHaveLength(1);
  });

  test("a port another server holds stops the start, before any key is made; the first server keeps every request", async () => {
    const first = await startServer({ KEYGATE_DB: join(tmp.dir, "port-a", "keygate.sqlite") });
    try {
      const port = new URL(first.url).port;
      const second = await runServeToExit({
        KEYGATE_PORT: port,
        KEYGATE_DB: join(tmp.dir, "port-b", "keygate.sqlite"),
      });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`KEYGATE_PORT ${port} is in use by another process`);
      expect(second.stdout).not.toMatch(/sk_(live|test)_/);
      // Nothing shares the port: every request reaches the first server's database.
      const live = first.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      for (let i = 0; i < 20; i++) {
        const me = await fetch(`${first.url}/v1/me`, {
          headers: { authorization: `Bearer ${live}` },
        });
        expect(me.status).toBe(200);
      }
    } finally {
      await first.stop();
    }
  });

  test("a second server on the same database is refused, naming the first; the lock goes with the first", async () => {
    const env = { KEYGATE_DB: join(tmp.dir, "one-per-db", "keygate.sqlite") };
    const first = await startServer(env);
    const lockFile = `${env.KEYGATE_DB}.serve.pid`;
    try {
      const second = await runServeToExit({ ...env, KEYGATE_PORT: "0" });
      expect(second.code).toBe(1);
      // The database is in use: no fault of the configuration, and not called one.
      expect(second.stderr).toContain(
        `keygate: the database ${env.KEYGATE_DB} is already served by another keygate serve (pid `,
      );
      expect(second.stdout).not.toContain("listening on");
      const live = first.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      const me = await fetch(`${first.url}/v1/me`, {
        headers: { authorization: `Bearer ${live}` },
      });
      expect(me.status).toBe(200);
      expect(existsSync(lockFile)).toBe(true);
    } finally {
      await first.stop();
    }
    expect(existsSync(lockFile)).toBe(false);
    // Once the first has stopped, a server starts on the database again.
    const again = await startServer(env);
    await again.stop();
  });

  test("a KEYGATE_ACCESS_LOG that is neither stdout nor off stops the start", async () => {
    const run = await runServeToExit({
      KEYGATE_ACCESS_LOG: "verbose",
      KEYGATE_DB: join(tmp.dir, "bad-log", "k.sqlite"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('KEYGATE_ACCESS_LOG: "verbose" is neither "stdout" nor "off"');
  });

  test("a start without the pepper the database's keys are hashed with is refused, not a server that knows no key", async () => {
    const pepper = { KEYGATE_PEPPER: "the-pepper-this-database-was-made-1" };
    const db = { KEYGATE_DB: join(tmp.dir, "peppered", "k.sqlite") };
    const first = await startServer({ ...db, ...pepper });
    const live = (/live: (sk_live_\w+)/.exec(first.startupOutput) as RegExpExecArray)[1] as string;
    await first.stop();
    const others: Record<string, string>[] = [
      {},
      { KEYGATE_PEPPER: "another-pepper-than-it-was-made-2" },
    ];
    for (const given of others) {
      const run = await runServeToExit({ ...db, ...given });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/bad configuration: KEYGATE_PEPPER is not (set|the pepper)/);
      expect(run.stdout).not.toContain("listening");
    }
    const again = await startServer({ ...db, ...pepper });
    try {
      const me = await fetch(`${again.url}/v1/me`, {
        headers: { authorization: `Bearer ${live}` },
      });
      expect(me.status).toBe(200);
    } finally {
      await again.stop();
    }
  });

  test("a copy restored without its checkpoint key is refused at start, not given a new trust root; audit checkpoint --new-key makes one on purpose", async () => {
    const dir = join(tmp.dir, "restored");
    const db = { KEYGATE_DB: join(dir, "keygate.sqlite") };
    const keyFile = join(dir, "keygate-checkpoint.key");
    const first = await startServer(db); // signs a checkpoint at start
    await first.stop();
    const kept = join(tmp.dir, "restored-kept.pem");
    writeFileSync(kept, keygate(["audit", "public-key"], db).stdout);
    rmSync(keyFile);

    const refused = await runServeToExit(db);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `bad configuration: ${keyFile} is missing, but the database holds checkpoints signed by the key `,
    );
    expect(refused.stdout).not.toContain("listening");
    expect(existsSync(keyFile)).toBe(false);
    const unvouched = keygate(["audit", "verify"], db);
    expect(unvouched.code).toBe(1);
    expect(unvouched.stderr).toContain("give --public-key FILE");
    expect(keygate(["audit", "verify", "--public-key", kept], db).stdout).toContain("intact: ");

    const renewed = keygate(["audit", "checkpoint", "--new-key"], db);
    expect(renewed.code).toBe(0);
    expect(renewed.stdout).toContain(`signed with a new checkpoint key, ${keyFile}`);
    const again = await startServer(db);
    try {
      const whileServing = keygate(["audit", "checkpoint", "--new-key"], db);
      expect(whileServing.code).toBe(1);
      expect(whileServing.stderr).toContain(
        `keygate: the database ${db.KEYGATE_DB} is served by keygate serve (pid `,
      );
      expect(whileServing.stderr).toContain("stop it before making a new checkpoint key");
      expect(keygate(["audit", "verify"], db).code).toBe(0);
      const old = keygate(["audit", "verify", "--public-key", kept], db);
      expect(old.code).toBe(1);
      expect(old.stdout).toContain("signed with a key that is not the trusted one");
    } finally {
      await again.stop();
    }

    // Another deployment's key put in its place is no more the signer than none.
    rmSync(keyFile);
    writeFileSync(
      keyFile,
      generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }),
      { mode: 0o600 },
    );
    const other = await runServeToExit(db);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("is not the key that signed the database's latest checkpoint");
  });

  test("a copy restored without the key its recorded results are sealed with is refused at start, not given a new key that would lose more", async () => {
    const dir = join(tmp.dir, "results-restored");
    const db = { KEYGATE_DB: join(dir, "keygate.sqlite") };
    const first = await startServer(db);
    const live = (/live: (sk_live_\w+)/.exec(first.startupOutput) as RegExpExecArray)[1] as string;
    try {
      const created = await fetch(`${first.url}/v1/api-keys`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${live}`,
          "content-type": "application/json",
          "idempotency-key": "restore-drill-0001",
        },
        body: JSON.stringify({ name: "billing", scopes: ["links:read"] }),
      });
      expect(created.status).toBe(200);
    } finally {
      await first.stop();
    }
    rmSync(join(dir, "keygate-results.key"));
    const refused = await runServeToExit(db);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `bad configuration: ${join(dir, "keygate-results.key")} is missing, but up to 1 result(s) recorded under Idempotency-Key`,
    );
    expect(refused.stdout).not.toContain("listening");
    expect(existsSync(join(dir, "keygate-results.key"))).toBe(false);
  });

  test("a preset started on a database whose keys carry another prefix is refused, naming both", async () => {
    const db = { KEYGATE_DB: join(tmp.dir, "other-preset", "k.sqlite") };
    const first = await startServer(db);
    await first.stop();
    const run = await runServeToExit({
      ...db,
      KEYGATE_CONFIG: join(ROOT, "presets", "crypto-checkout.json"),
      KEYGATE_UPSTREAM: "http://127.0.0.1:9",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'bad configuration: keys.secret_prefix is "ck", but none of this database\'s active keys starts with "ck_" (they start with "sk_")',
    );
  });

  test("a bad config file stops the start with a message naming the field", async () => {
    const config = join(tmp.dir, "bad-serve.json");
    writeFileSync(config, JSON.stringify({ port: -1 }));
    const run = await runServeToExit({
      KEYGATE_CONFIG: config,
      KEYGATE_DB: join(tmp.dir, "bad", "k.sqlite"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /bad-serve.json: port: Expected integer to be greater or equal to 0/,
    );
  });

  test("KEYGATE_TLS_CERT and KEYGATE_TLS_KEY serve HTTPS only, on the address KEYGATE_HOST names", async () => {
    const { cert, key } = selfSignedCertificate();
    const certPath = join(tmp.dir, "tls-cert.pem");
    const keyPath = join(tmp.dir, "tls-key.pem");
    writeFileSync(certPath, cert);
    writeFileSync(keyPath, key, { mode: 0o600 });
    const server = await startServer({
      KEYGATE_DB: join(tmp.dir, "tls", "keygate.sqlite"),
      KEYGATE_HOST: "127.0.0.1",
      KEYGATE_TLS_CERT: certPath,
      KEYGATE_TLS_KEY: keyPath,
    });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const live = server.startupOutput.match(/live: (sk_live_\w+)/)?.[1];
      // Trusting only this certificate, the client reaches Keygate and authenticates.
      const me = await fetch(`${server.url}/v1/me`, {
        headers: { authorization: `Bearer ${live}` },
        tls: { ca: cert },
      });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { key: { environment: string } }).key.environment).toBe("live");
      // It really is TLS with that certificate: a client that does not trust it is refused,
      const untrusting = await fetch(`${server.url}/healthz`).catch((e: Error) => e);
      expect(untrusting).toBeInstanceOf(Error);
      // and the port speaks no plain HTTP, so a key cannot be sent there in the clear by mistake.
      const plain = await fetch(`${server.url.replace("https:", "http:")}/healthz`).then(
        (r) => r.status,
        (e: Error) => e,
      );
      expect(plain).toBeInstanceOf(Error);
    } finally {
      await server.stop();
    }
  });

  test("TLS files or a host that cannot be used stop the start with a message naming the setting", async () => {
    const { cert } = selfSignedCertificate();
    const other = selfSignedCertificate();
    const certPath = join(tmp.dir, "stop-cert.pem");
    const otherKey = join(tmp.dir, "stop-other-key.pem");
    writeFileSync(certPath, cert);
    writeFileSync(otherKey, other.key, { mode: 0o600 });
    const cases: [Record<string, string>, string][] = [
      [{ KEYGATE_TLS_CERT: certPath }, "KEYGATE_TLS_KEY: must be set with KEYGATE_TLS_CERT"],
      [
        { KEYGATE_TLS_CERT: join(tmp.dir, "absent.pem"), KEYGATE_TLS_KEY: otherKey },
        `KEYGATE_TLS_CERT ${join(tmp.dir, "absent.pem")}: cannot read the file`,
      ],
      [
        { KEYGATE_TLS_CERT: certPath, KEYGATE_TLS_KEY: otherKey },
        "KEYGATE_TLS_CERT / KEYGATE_TLS_KEY: not a PEM certificate chain and its private key",
      ],
      [
        { KEYGATE_TLS_CERT: certPath, KEYGATE_TLS_KEY: certPath },
        "KEYGATE_TLS_CERT / KEYGATE_TLS_KEY: not a PEM certificate chain and its private key",
      ],
      // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
      [{ KEYGATE_HOST: "192.0.2.1" }, "KEYGATE_HOST 192.0.2.1: cannot listen on this address"],
    ];
    for (const [i, [env, message]] of cases.entries()) {
      const db = join(tmp.dir, `stop-${i}`, "keygate.sqlite");
      const run = await runServeToExit({ KEYGATE_PORT: "0", KEYGATE_DB: db, ...env });
      expect([run.code, run.stderr]).toEqual([1, expect.stringContaining(message)]);
      // Nothing was created: a start that cannot serve shows no keys.
      expect(run.stdout).not.toMatch(/sk_(live|test)_/);
    }
  });
});

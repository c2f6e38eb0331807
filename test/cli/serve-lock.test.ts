import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { holdServeLock } from "../../src/cli/serve-lock.ts";
import { KeygateError } from "../../src/errors/keygate-error.ts";
import { tempDir } from "../support/keygate.ts";
import { processWithArgument } from "../support/lock-holder.ts";

const tmp = tempDir();
afterAll(tmp.remove);
let n = 0;
const database = () => join(tmp.dir, `db-${n++}.sqlite`);

describe("the serving lock: one server per database", () => {
  test("is taken in a file naming this process, and released by removing it", () => {
    const db = database();
    const lock = holdServeLock(db);
    expect(lock?.path).toBe(`${db}.serve.pid`);
    expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe(`${process.pid}\n`);
    lock?.release();
    expect(existsSync(`${db}.serve.pid`)).toBe(false);
  });

  test("is refused while a live Keygate server holds it, naming its pid", async () => {
    const db = database();
    // A live process whose arguments include `serve`, as every Keygate server's do.
    const server = await processWithArgument("serve");
    try {
      writeFileSync(`${db}.serve.pid`, `${server.pid}\n`);
      let caught: unknown;
      try {
        holdServeLock(db);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(KeygateError);
      expect((caught as KeygateError).code).toBe("resource_conflict");
      expect((caught as Error).message).toBe(
        `the database ${db} is already served by another keygate serve (pid ${server.pid}): run one server per database (its idempotency and rate limits are in its memory)`,
      );
      expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe(`${server.pid}\n`);
    } finally {
      server.kill();
      await server.exited;
    }
  });

  test("a rebuild holds it too: a server does not start during one, nor a rebuild beside a server or another rebuild", async () => {
    const refusalBy = async (holderArgument: string, taker: "serve" | "rebuild") => {
      const db = database();
      const holder = await processWithArgument(holderArgument);
      try {
        writeFileSync(`${db}.serve.pid`, `${holder.pid}\n`);
        let caught: unknown;
        try {
          holdServeLock(db, taker);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(KeygateError);
        expect((caught as KeygateError).code).toBe("resource_conflict");
        expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe(`${holder.pid}\n`);
        return (caught as Error).message.replace(db, "DB").replace(`pid ${holder.pid}`, "pid PID");
      } finally {
        holder.kill();
        await holder.exited;
      }
    };
    expect(await refusalBy("rebuild", "serve")).toBe(
      "the database DB is being rebuilt by keygate rebuild (pid PID): start the server once it has finished",
    );
    expect(await refusalBy("rebuild", "rebuild")).toBe(
      "the database DB is being rebuilt by keygate rebuild (pid PID): wait for it to finish",
    );
    expect(await refusalBy("serve", "rebuild")).toBe(
      "the database DB is served by keygate serve (pid PID): stop the server before a rebuild, and start it after (its in-memory key index would go on serving the rows the rebuild replaces)",
    );
    const db = database();
    const lock = holdServeLock(db, "rebuild");
    expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe(`${process.pid}\n`);
    lock?.release();
    expect(existsSync(`${db}.serve.pid`)).toBe(false);
  });

  test("is taken over from a server that died, or a pid reused by another program, or a file that names nothing", async () => {
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    const other = Bun.spawn(["sleep", "30"]);
    try {
      for (const content of [`${gone.pid}\n`, `${other.pid}\n`, "", "not a pid"]) {
        const db = database();
        writeFileSync(`${db}.serve.pid`, content);
        const lock = holdServeLock(db);
        expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe(`${process.pid}\n`);
        lock?.release();
      }
    } finally {
      other.kill();
      await other.exited;
    }
  });

  test("release leaves a file that names another process alone; an in-memory database takes none", () => {
    const db = database();
    const lock = holdServeLock(db);
    writeFileSync(`${db}.serve.pid`, "12345\n");
    lock?.release();
    expect(readFileSync(`${db}.serve.pid`, "utf8")).toBe("12345\n");
    expect(holdServeLock(":memory:")).toBeUndefined();
  });
});

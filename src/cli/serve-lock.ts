/**
 * One server per database. Exactly-once admission of idempotent requests and the rate-limit
 * counters live in the serving process's memory: a second `serve` on the same file (a manual
 * start beside the systemd unit, an overlapping deploy) would run a retried POST a second time
 * and give every key twice its limit. So `serve` holds `<database>.serve.pid`, which names its
 * process, for as long as it runs, and a second `serve` that finds the file naming a live
 * Keygate server refuses to start.
 *
 * A file left behind by a server that died (`kill -9`, a power cut) names a process that is
 * gone — or, after a reboot, one that reused its pid and is not a Keygate server — and is
 * taken over. The guard is against the common mistake, on one machine (SQLite's WAL does not
 * work across machines anyway); two servers started within the same millisecond could both
 * take over one stale file.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError } from "../config/config-error.ts";

/** A held lock: `release()` removes the file if it is still this process's. */
export interface ServeLock {
  path: string;
  release(): void;
}

/** The pid a lock file names, if it names one. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running Keygate server (rather than gone, or a pid reused since). */
function isServing(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("serve");
  } catch {
    return true; // No /proc to tell: a live pid is taken at its word.
  }
}

/** The pid of the Keygate server serving the database at `dbPath`, if one is. */
export function servingPid(dbPath: string): number | undefined {
  if (dbPath === ":memory:") return undefined;
  const holder = holderOf(`${dbPath}.serve.pid`);
  return holder !== undefined && holder !== process.pid && isServing(holder) ? holder : undefined;
}

/**
 * Takes the serving lock of the database at `dbPath` (none for `:memory:`), or throws a
 * {@link ConfigError} naming the process that holds it.
 */
export function holdServeLock(dbPath: string): ServeLock | undefined {
  if (dbPath === ":memory:") return undefined;
  const path = `${dbPath}.serve.pid`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return {
        path,
        release: () => {
          if (holderOf(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = servingPid(dbPath);
    if (holder !== undefined)
      throw new ConfigError(
        `the database ${dbPath} is already served by another keygate serve (pid ${holder}): run one server per database (its idempotency and rate limits are in its memory)`,
      );
    rmSync(path, { force: true }); // Left by a server that is gone: taken over.
  }
  throw new ConfigError(`the database ${dbPath}: its serving lock ${path} could not be taken`);
}

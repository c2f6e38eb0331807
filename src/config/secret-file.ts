/** The key files Keygate keeps beside its database (results, JWT and checkpoint keys). */
import { writeFileSync } from "node:fs";

/**
 * Writes `content` to a new file at `path`, readable by its owner only (0600), unless a file
 * is already there — one kept from before, or made a moment ago by another process starting
 * on the same database. Returns whether this call wrote it.
 */
export function createSecretFile(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { mode: 0o600, flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return false;
  }
}

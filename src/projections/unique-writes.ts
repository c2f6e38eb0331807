/**
 * Unique values in read models (an entity's reference among its siblings, the one platform
 * entity, a user's email).
 * The deciders check them before anything is appended; what they cannot see is another
 * process on the same file (the CLI beside the server) committing the same value between
 * that check and this append. The unique index then refuses the write, and this turns its
 * refusal into the same 409 the decider gives — thrown inside the append's transaction, so
 * no event is written — instead of an internal error.
 */
import { KeygateError } from "../errors/keygate-error.ts";

/** What a breach of one unique index means to a client. */
export interface UniqueRule {
  /** The index's columns as SQLite names them in its error: `users.email`. */
  columns: string;
  /** The 409's message. */
  message: string;
  /** The request field at fault, if one is. */
  param?: string;
}

/** Runs `write`; a breach of one of `rules`' unique indexes becomes 409 `resource_conflict`. */
export function writeUnique(rules: readonly UniqueRule[], write: () => void): void {
  try {
    write();
  } catch (error) {
    const message = String((error as Error)?.message);
    const rule = rules.find((r) => message.includes(`UNIQUE constraint failed: ${r.columns}`));
    if (rule) throw new KeygateError("resource_conflict", rule.message, rule.param);
    throw error;
  }
}

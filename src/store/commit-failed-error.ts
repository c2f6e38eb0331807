/**
 * A commit that did not happen: an append's, or a group commit's (every append and unit of
 * the batch is then refused with it). Nothing it was to write was written: the transaction was
 * rolled back, by Keygate or by SQLite itself (a full disk, an I/O error, the write lock held
 * elsewhere past the busy timeout).
 */
import type { SqlConnection } from "../db/sql.ts";
import { KeygateError } from "../errors/keygate-error.ts";

/** 500 `api_error` saying that nothing was changed, with SQLite's own error as its `cause`. */
export class CommitFailedError extends KeygateError {
  constructor(cause: unknown) {
    super(
      "api_error",
      "The change could not be saved, so nothing was changed; it is safe to retry.",
    );
    this.cause = cause;
  }

  /** `failure` itself if it already says that nothing was written, else one with it as cause. */
  static of(failure: unknown): CommitFailedError {
    return failure instanceof CommitFailedError ? failure : new CommitFailedError(failure);
  }
}

/**
 * Runs `fn` in one transaction of `sql` (a savepoint when one is open). SQLite's own failure
 * of it (a full disk, an I/O error, the write lock held past the busy timeout) is thrown as
 * {@link CommitFailedError}: the transaction was rolled back, so nothing `fn` wrote was kept.
 * Anything else `fn` throws (a refusal of Keygate's own) passes through as it is.
 */
export function transactionOrCommitFailed<T>(sql: SqlConnection, fn: () => T): T {
  try {
    return sql.transaction(fn);
  } catch (error) {
    throw sql.isSqliteError(error) ? CommitFailedError.of(error) : error;
  }
}

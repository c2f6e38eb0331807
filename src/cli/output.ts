/** How the CLI prints: JSON for `--json`, short human lines otherwise. */
import type { UserObject } from "../commands/users.ts";
import { escapeControls } from "../input/plain-text.ts";
import type { ApiKeyObject, EntityObject } from "../projections/queries.ts";

/** Prints a value as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * The exit status of a command whose reader went away (`keygate keys list | head -1`):
 * 128 + SIGPIPE, what a shell shows for a Unix tool that the closed pipe stopped.
 */
export const READER_GONE_STATUS = 141;

/** Ends the command quietly if stdout's reader went away (EPIPE); rethrows anything else. */
function endIfReaderGone(error: NodeJS.ErrnoException): void {
  if (error.code === "EPIPE") process.exit(READER_GONE_STATUS);
  throw error;
}

/**
 * From now on, stdout's reader going away ends the command as it ends a Unix tool: at once,
 * nothing on stderr, status {@link READER_GONE_STATUS} — not with the runtime's report of an
 * unhandled EPIPE and status 1. (Not for `serve`, whose access log handles it: app.ts.)
 */
export function endQuietlyWhenReaderGoes(): void {
  process.stdout.on("error", endIfReaderGone);
}

/**
 * stdout as a sink that lets a long writer wait: `flush()` resolves once stdout has taken
 * what was written, so a streaming export holds no more than one batch in memory.
 */
export function stdoutSink(): { write(chunk: string): void; flush(): Promise<void> | undefined } {
  let drained: Promise<void> | undefined;
  return {
    write(chunk) {
      let accepted = false;
      try {
        accepted = process.stdout.write(chunk);
      } catch (error) {
        endIfReaderGone(error as NodeJS.ErrnoException);
      }
      if (!accepted && !drained) {
        drained = new Promise((resolve) =>
          process.stdout.once("drain", () => {
            drained = undefined;
            resolve();
          }),
        );
      }
    },
    flush: () => drained,
  };
}

/**
 * Prints a line on stdout, any control character in it written out as `\u{…}`: names and
 * emails are refused with one now, but a database written before may still hold one, and it
 * must not reach the operator's terminal as an escape sequence.
 */
export function say(line: string): void {
  process.stdout.write(`${escapeControls(line)}\n`);
}

/** One human-readable line describing an entity. */
export function describeEntity(e: EntityObject): string {
  const ref = e.reference ? ` ref=${e.reference}` : "";
  return `${e.id}  ${e.kind.padEnd(8)}  ${e.active ? "active  " : "inactive"}  ${e.name}${ref}  parent=${e.parent_id ?? "-"}`;
}

/** One human-readable line describing a key (display forms only, never a secret). */
export function describeKey(k: ApiKeyObject): string {
  const who = k.public_key ? `${k.public_key} ` : "";
  return `${k.id}  ${k.environment}  ${k.status.padEnd(7)}  ${who}${k.masked}  ${k.name}  [${k.scopes.join(" ")}]  entity=${k.entity_id}`;
}

/** One human-readable line describing a user (never its password hash). */
export function describeUser(u: UserObject): string {
  return `${u.id}  ${u.active ? "active  " : "inactive"}  ${u.email}  entity=${u.entity_id}`;
}

/** Prints `value` as JSON when `json` is set, else the human-readable `lines`. */
export function report(json: boolean, value: unknown, lines: readonly string[]): void {
  if (json) printJson(value);
  else for (const line of lines) say(line);
}

/** Rows per page when a command lists everything through a cursor-paged query. */
const PAGE = 500;

/** How a listing command reads its rows and shows each. */
export interface Listing<Row extends { id: string }, Shown> {
  /** One page of rows in id order, after `startingAfter` (a cursor-paged query). */
  page(startingAfter: string | undefined, limit: number): Row[];
  /** The row as the API shows it (what `--json` prints). */
  present(row: Row): Shown;
  /** The row's line for people. */
  describe(shown: Shown): string;
}

/**
 * Prints every row of `listing`, read {@link PAGE} at a time and written as it is read,
 * waiting for stdout between pages: lines for people, or with `json` the API's
 * `{"object":"list","data":[…],"has_more":false}`. However many rows there are, memory holds
 * one page.
 */
export async function printList<Row extends { id: string }, Shown>(
  json: boolean,
  listing: Listing<Row, Shown>,
): Promise<void> {
  const sink = stdoutSink();
  let after: string | undefined;
  let first = true;
  if (json) sink.write('{"object":"list","data":[');
  for (;;) {
    const rows = listing.page(after, PAGE);
    const shown = rows.map(listing.present);
    if (rows.length > 0) {
      if (json)
        sink.write(`${first ? "" : ","}${shown.map((item) => JSON.stringify(item)).join(",")}`);
      else sink.write(shown.map((item) => `${escapeControls(listing.describe(item))}\n`).join(""));
      first = false;
    }
    after = rows.at(-1)?.id;
    await sink.flush();
    if (rows.length < PAGE) break;
  }
  if (json) sink.write(`],"has_more":false}\n`);
  await sink.flush();
}

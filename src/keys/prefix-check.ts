/**
 * Whether the configured key prefixes are the ones the database's keys carry. A key is checked
 * against `keys.secret_prefix` (and a pair's public half against `keys.public_prefix`) before
 * any lookup, so a server configured with other prefixes than its keys were made with — another
 * preset started on the same database, say — would refuse every key as malformed, the platform
 * keys included. Such a start is refused instead, naming both prefixes.
 *
 * The rule: when the database holds active keys, at least one must carry the configured prefix.
 * So a deployment that changes its prefix on purpose, letting every older key stop working,
 * creates a key with the new prefix first (`keygate keys create`, which this does not stop).
 */
import type { SqlConnection } from "../db/sql.ts";

/** The key prefixes the configuration names. */
export interface ConfiguredPrefixes {
  secretPrefix: string;
  publicPrefix: string;
}

const FIX =
  "Set the prefix the database's keys were made with (each preset wants a database of its own), or, if those keys are meant to stop working, create one with the new prefix first (keygate keys create)";

/** The prefix part of a stored display form (`sk` of `sk_live_Ab12Cd34`). */
const prefixOf = (display: string) => display.slice(0, display.search(/_(live|test)_/));

/**
 * Why the configured prefixes cannot serve this database's keys, or undefined: every active
 * key (or every active pair's public key) carries another prefix than the configured one.
 */
export function keyPrefixProblem(
  sql: SqlConnection,
  prefixes: ConfiguredPrefixes,
): string | undefined {
  const carrying = (column: "prefix" | "public_key", prefix: string) =>
    sql
      .prepare(
        `SELECT 1 FROM api_keys WHERE status = 'active' AND substr(${column}, 1, ?) = ? LIMIT 1`,
      )
      .get(prefix.length + 1, `${prefix}_`) !== undefined;
  const someActive = (column: "prefix" | "public_key") =>
    sql
      .prepare<{ shown: string }>(
        `SELECT ${column} AS shown FROM api_keys WHERE status = 'active' AND ${column} IS NOT NULL LIMIT 1`,
      )
      .get()?.shown;

  const secret = someActive("prefix");
  if (secret !== undefined && !carrying("prefix", prefixes.secretPrefix))
    return `keys.secret_prefix is "${prefixes.secretPrefix}", but none of this database's active keys starts with "${prefixes.secretPrefix}_" (they start with "${prefixOf(secret)}_"): every key would be refused as malformed. ${FIX}`;
  const pair = someActive("public_key");
  if (pair !== undefined && !carrying("public_key", prefixes.publicPrefix))
    return `keys.public_prefix is "${prefixes.publicPrefix}", but none of this database's active key pairs has a public key starting with "${prefixes.publicPrefix}_" (they start with "${prefixOf(pair)}_"): every pair would be refused as malformed. ${FIX}`;
  return undefined;
}

/**
 * `keygate keys create|list|show|update|rotate|revoke`. Secrets are printed once, at create
 * and rotate.
 */
import type { Keygate } from "../app/keygate.ts";
import { presentApiKey } from "../app/present-api-key.ts";
import {
  type ApiKeyWithSecret,
  createApiKey,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
} from "../commands/api-keys.ts";
import type { RateLimitSetting } from "../keys/api-key.ts";
import { type ApiKeyObject, type KeyListFilter, listApiKeys } from "../projections/queries.ts";
import {
  CLI_ACTOR,
  parseCommandArgs,
  parseEnvironment,
  parseRateLimit,
  parseSeconds,
  parseTimestamp,
  required,
  UsageError,
} from "./args.ts";
import { existingEntity, existingKey } from "./lookups.ts";
import { describeKey, printJson, printList, report, say } from "./output.ts";

const STATUSES: readonly string[] = ["active", "revoked", "expired"];

/** Usage of the keys commands. */
export const KEYS_USAGE = `  keys create --entity ENT_ID --name NAME --scopes a:read,b:write [--env live|test] [--kind secret|pair]
              [--rate-limit 100/1s] [--expires-at ISO-8601] [--json]      (--env defaults to test)
  keys list [--entity ENT_ID] [--status active|revoked|expired] [--json]
  keys show KEY_ID [--json]
  keys update KEY_ID [--name NAME] [--scopes a:read,b:write] [--rate-limit 100/1s|default] [--json]
  keys rotate KEY_ID [--expire-previous-in SECONDS] [--json]   (0, the default, kills the old secret now)
  keys revoke KEY_ID [--reason TEXT] [--json]`;

function printWithSecret(key: ApiKeyWithSecret, json: boolean, verb: string): void {
  if (json) {
    printJson(key);
    return;
  }
  say(`${verb} ${describeKey(key)}`);
  say("The secret is shown this once and never stored:");
  if (key.public_key) say(`  public key: ${key.public_key}`);
  say(`  secret:     ${key.secret}`);
}

/** Runs one keys subcommand. */
export async function runKeys(kg: Keygate, sub: string | undefined, argv: string[]): Promise<void> {
  switch (sub) {
    case "create": {
      const { values } = parseCommandArgs(argv, {
        entity: { type: "string" },
        name: { type: "string" },
        scopes: { type: "string" },
        env: { type: "string" },
        kind: { type: "string" },
        "rate-limit": { type: "string" },
        "expires-at": { type: "string" },
      });
      const kind = values.kind;
      if (kind !== undefined && kind !== "secret" && kind !== "pair")
        throw new UsageError(`--kind must be secret or pair, not "${kind}"`);
      const key = createApiKey(
        kg,
        {
          entityId: required(values, "entity"),
          environment: parseEnvironment(values.env ?? "test"),
          name: required(values, "name"),
          scopes: required(values, "scopes")
            .split(",")
            .map((s) => s.trim()),
          kind,
          rateLimit:
            values["rate-limit"] === undefined ? null : parseRateLimit(values["rate-limit"]),
          expiresAt:
            values["expires-at"] === undefined
              ? null
              : parseTimestamp(values["expires-at"], "expires-at"),
        },
        CLI_ACTOR,
      );
      printWithSecret(presentApiKey(kg, key), values.json === true, "Created");
      return;
    }
    case "list": {
      const { values } = parseCommandArgs(argv, {
        entity: { type: "string" },
        status: { type: "string" },
      });
      if (values.status !== undefined && !STATUSES.includes(values.status)) {
        throw new UsageError(`--status must be active, revoked or expired, not "${values.status}"`);
      }
      if (values.entity !== undefined) existingEntity(kg, values.entity);
      const filter: Pick<KeyListFilter, "entityId" | "status"> = {
        ...(values.entity === undefined ? {} : { entityId: values.entity }),
        ...(values.status === undefined ? {} : { status: values.status as ApiKeyObject["status"] }),
      };
      await printList(values.json === true, {
        page: (startingAfter, limit) =>
          listApiKeys(kg.db, { ...filter, startingAfter, limit }, kg.now()),
        present: (key) => presentApiKey(kg, key),
        describe: describeKey,
      });
      return;
    }
    case "show": {
      const { values, positional: id } = parseCommandArgs(argv, {}, "key id");
      const stored = existingKey(kg, id);
      const key = presentApiKey(kg, stored);
      report(values.json === true, key, keyDetails(key, stored.rate_limit !== null));
      return;
    }
    case "update": {
      const { values, positional: id } = parseCommandArgs(
        argv,
        {
          name: { type: "string" },
          scopes: { type: "string" },
          "rate-limit": { type: "string" },
        },
        "key id",
      );
      const changes = keyChanges(values);
      const before = presentApiKey(kg, existingKey(kg, id));
      const after = presentApiKey(kg, updateApiKey(kg, id, changes, CLI_ACTOR));
      const changed = JSON.stringify(before) !== JSON.stringify(after);
      report(values.json === true, after, [
        changed ? `Updated ${describeKey(after)}` : `Unchanged ${describeKey(after)}`,
      ]);
      return;
    }
    case "rotate": {
      const { values, positional: id } = parseCommandArgs(
        argv,
        { "expire-previous-in": { type: "string" } },
        "key id",
      );
      const overlap = parseSeconds(values["expire-previous-in"] ?? "0", "expire-previous-in");
      const key = rotateApiKey(kg, id, overlap, CLI_ACTOR);
      printWithSecret(presentApiKey(kg, key), values.json === true, "Rotated");
      return;
    }
    case "revoke": {
      const { values, positional: id } = parseCommandArgs(
        argv,
        { reason: { type: "string" } },
        "key id",
      );
      const key = revokeApiKey(kg, id, values.reason ?? null, CLI_ACTOR);
      report(values.json === true, presentApiKey(kg, key), [`Revoked ${describeKey(key)}`]);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown keys command "${sub}"` : "keys needs a command");
  }
}

/**
 * What `keys update` changes: at least one of name, scopes and rate limit; `--rate-limit
 * default` drops the key's own limit, so the deployment's default policy applies again.
 */
function keyChanges(values: { name?: string; scopes?: string; "rate-limit"?: string }): {
  name?: string;
  scopes?: string[];
  rateLimit?: RateLimitSetting | null;
} {
  const { name, scopes, "rate-limit": rateLimit } = values;
  if (name === undefined && scopes === undefined && rateLimit === undefined)
    throw new UsageError("keys update needs at least one of --name, --scopes and --rate-limit");
  return {
    ...(name === undefined ? {} : { name }),
    ...(scopes === undefined ? {} : { scopes: scopes.split(",").map((s) => s.trim()) }),
    ...(rateLimit === undefined
      ? {}
      : { rateLimit: rateLimit === "default" ? null : parseRateLimit(rateLimit) }),
  };
}

/**
 * `keys show`: the one-line description, then every field a person asks about. `ownLimit`:
 * the key carries its own rate limit (else `key.rate_limit` is the deployment's default).
 */
function keyDetails(key: ApiKeyObject, ownLimit: boolean): string[] {
  const limit = key.rate_limit
    ? `${key.rate_limit.limit} per ${key.rate_limit.window_seconds}s (${ownLimit ? "the key's own" : "the default"})`
    : "none";
  return [
    describeKey(key),
    `  rate limit:   ${limit}`,
    `  created at:   ${key.created_at}`,
    `  last used at: ${key.last_used_at ?? "never"}`,
    `  expires at:   ${key.expires_at ?? "never"}`,
    `  revoked at:   ${key.revoked_at ?? "-"}`,
  ];
}

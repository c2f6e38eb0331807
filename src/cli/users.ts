/** `keygate users create`. */
import type { Keygate } from "../app/keygate.ts";
import { createUser } from "../commands/users.ts";
import { parseCommandArgs, required, UsageError } from "./args.ts";
import { report } from "./output.ts";

/** Usage of the users commands. */
export const USERS_USAGE = `  users create --email EMAIL --entity ENT_ID (--password PASSWORD | --password-stdin) [--json]`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** Runs one users subcommand. */
export async function runUsers(
  kg: Keygate,
  sub: string | undefined,
  argv: string[],
): Promise<void> {
  if (sub !== "create")
    throw new UsageError(sub ? `unknown users command "${sub}"` : "users needs a command");
  const { values } = parseCommandArgs(argv, {
    email: { type: "string" },
    entity: { type: "string" },
    password: { type: "string" },
    "password-stdin": { type: "boolean" },
  });
  if ((values.password === undefined) === (values["password-stdin"] !== true)) {
    throw new UsageError("give exactly one of --password and --password-stdin");
  }
  const password = values.password ?? (await readStdin());
  const user = createUser(
    kg,
    { email: required(values, "email"), password, entityId: required(values, "entity") },
    { actor: "cli", request_id: null },
  );
  report(values.json === true, user, [
    `Created user ${user.id} <${user.email}> on ${user.entity_id}`,
  ]);
}

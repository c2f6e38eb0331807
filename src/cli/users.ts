/** `keygate users create|list|deactivate|reactivate|set-password|set-email`. */
import type { Keygate } from "../app/keygate.ts";
import {
  changeEmail,
  changePassword,
  createUser,
  deactivateUser,
  reactivateUser,
  userObject,
} from "../commands/users.ts";
import { listUsers, type UserListFilter } from "../projections/queries.ts";
import { normaliseEmail } from "../users/user.ts";
import { CLI_ACTOR, parseCommandArgs, required, UsageError } from "./args.ts";
import { existingEntity, existingUser } from "./lookups.ts";
import { describeUser, printList, report } from "./output.ts";

/** Usage of the users commands. */
export const USERS_USAGE = `  users create --email EMAIL --entity ENT_ID (--password PASSWORD | --password-stdin) [--json]
  users list [--entity ENT_ID] [--email EMAIL] [--json]
  users deactivate USR_ID [--json]        no more logins; its tokens refused at once
  users reactivate USR_ID [--json]
  users set-password USR_ID (--password PASSWORD | --password-stdin) [--json]
                                          its tokens issued before are refused at once
  users set-email USR_ID --email EMAIL [--json]   its login; its tokens keep working`;

const PASSWORD_OPTIONS = {
  password: { type: "string" },
  "password-stdin": { type: "boolean" },
} as const;

/** The password of --password or, with --password-stdin, standard input less its last newline. */
async function passwordOption(values: {
  password?: string | undefined;
  "password-stdin"?: boolean | undefined;
}): Promise<string> {
  if ((values.password === undefined) === (values["password-stdin"] !== true)) {
    throw new UsageError("give exactly one of --password and --password-stdin");
  }
  return values.password ?? (await readStdin());
}

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
  if (sub === "deactivate" || sub === "reactivate") {
    const { values, positional: id } = parseCommandArgs(argv, {}, "user id");
    const user =
      sub === "deactivate" ? deactivateUser(kg, id, CLI_ACTOR) : reactivateUser(kg, id, CLI_ACTOR);
    const verb = sub === "deactivate" ? "Deactivated" : "Reactivated";
    report(values.json === true, user, [`${verb} user ${user.id} <${user.email}>`]);
    return;
  }
  if (sub === "list") {
    const { values } = parseCommandArgs(argv, {
      entity: { type: "string" },
      email: { type: "string" },
    });
    if (values.entity !== undefined) existingEntity(kg, values.entity);
    const filter: Pick<UserListFilter, "entityId" | "email"> = {
      ...(values.entity === undefined ? {} : { entityId: values.entity }),
      ...(values.email === undefined ? {} : { email: normaliseEmail(values.email) }),
    };
    await printList(values.json === true, {
      page: (startingAfter, limit) => listUsers(kg.db, { ...filter, startingAfter, limit }),
      present: userObject,
      describe: describeUser,
    });
    return;
  }
  if (sub === "set-password") {
    const { values, positional: id } = parseCommandArgs(argv, PASSWORD_OPTIONS, "user id");
    const password = await passwordOption(values);
    const user = await changePassword(kg, id, { value: password, field: "password" }, CLI_ACTOR);
    report(values.json === true, user, [`Changed the password of user ${user.id} <${user.email}>`]);
    return;
  }
  if (sub === "set-email") {
    const { values, positional: id } = parseCommandArgs(
      argv,
      { email: { type: "string" } },
      "user id",
    );
    const before = userObject(existingUser(kg, id));
    const user = changeEmail(kg, id, required(values, "email"), CLI_ACTOR);
    report(values.json === true, user, [
      user.email === before.email
        ? `Unchanged: user ${user.id} already has <${user.email}>`
        : `Changed the email of user ${user.id} from <${before.email}> to <${user.email}>`,
    ]);
    return;
  }
  if (sub !== "create")
    throw new UsageError(sub ? `unknown users command "${sub}"` : "users needs a command");
  const { values } = parseCommandArgs(argv, {
    email: { type: "string" },
    entity: { type: "string" },
    ...PASSWORD_OPTIONS,
  });
  const password = await passwordOption(values);
  const user = await createUser(
    kg,
    { email: required(values, "email"), password, entityId: required(values, "entity") },
    CLI_ACTOR,
  );
  report(values.json === true, user, [
    `Created user ${user.id} <${user.email}> on ${user.entity_id}`,
  ]);
}

/**
 * Schema complaints a client or an operator can act on: what TypeBox reports for a value that
 * fits no branch of a union ("Expected union value") replaced by what is actually wrong, and
 * a field the object does not take told which fields it does, and one it lacks called missing.
 */
import { ValueErrorType } from "@sinclair/typebox/errors";

/** One schema complaint, as TypeBox reports it (`ValueError`) and Elysia passes it on. */
export interface SchemaIssue {
  /** What kind of complaint it is (TypeBox's `ValueErrorType`). */
  type?: number;
  path?: string;
  message?: string;
  value?: unknown;
  /** A union's branches: what each of them found wrong (TypeBox's error iterators). */
  errors?: Iterable<SchemaIssue>[];
  /** The schema complained about; a union's lists its branches under `anyOf`. */
  schema?: object;
}

/** What the members of the object are called: a body's fields, a query's parameters. */
export interface Member {
  singular: string;
  plural: string;
  /** What one it does not take is called: TypeBox's "property", or "query parameter". */
  unexpected: string;
}

/** The members of a JSON object: a body's, a config file's. */
const FIELD: Member = { singular: "field", plural: "fields", unexpected: "property" };

/** The members of a query string. */
export const QUERY_PARAMETER: Member = {
  singular: "parameter",
  plural: "parameters",
  unexpected: "query parameter",
};

/** One branch of a union schema, as far as the explanation reads it. */
interface Branch {
  const?: unknown;
  type?: string;
}

/** The JSON Schema type names a value of this kind can satisfy. */
function schemaTypesOf(value: unknown): string[] {
  if (value === null) return ["null"];
  if (Array.isArray(value)) return ["array"];
  if (typeof value === "number")
    return Number.isInteger(value) ? ["integer", "number"] : ["number"];
  return [typeof value];
}

/**
 * The issue to tell the client about. TypeBox reports a value that fits no branch of a union
 * as "Expected union value"; this names what is wrong instead: within the branches of the
 * value's own type, the one with the fewest complaints
 * (`rate_limit.limit: Expected integer to be greater or equal to 1`), or, when no branch is of
 * that type, the choices (`environment: Expected one of "live", "test"`). A field the object
 * does not take lists those it does; one it needs and did not get is called missing rather
 * than "Expected required property".
 */
export function explained(issue: SchemaIssue, member: Member = FIELD): SchemaIssue {
  if (issue.type === ValueErrorType.ObjectAdditionalProperties)
    return withFieldsTaken(issue, member);
  if (issue.type === ValueErrorType.ObjectRequiredProperty)
    return { ...issue, message: `Missing; this ${member.singular} is required` };
  const branches = (issue.schema as { anyOf?: Branch[] } | undefined)?.anyOf;
  if (!issue.errors?.length || !branches) return issue;
  const types = schemaTypesOf(issue.value);
  const complaints = issue.errors
    .map((found, at) => ({ branch: branches[at], found: [...found] }))
    .filter(
      ({ branch, found }) =>
        branch?.const === undefined && types.includes(String(branch?.type)) && found.length > 0,
    )
    .sort((a, b) => a.found.length - b.found.length);
  const closest = complaints[0]?.found[0];
  if (closest) return explained(closest, member);
  const choices = branches.map((branch) =>
    branch.const !== undefined ? JSON.stringify(branch.const) : String(branch.type),
  );
  return { ...issue, message: `Expected one of ${choices.join(", ")}` };
}

/**
 * A field the object does not take, with the fields it does: "kind: Unexpected property"
 * alone leaves the reader guessing whether the name is misspelt or the field cannot be set
 * here (an entity's kind after creation).
 */
function withFieldsTaken(issue: SchemaIssue, member: Member): SchemaIssue {
  const properties = (issue.schema as { properties?: object } | undefined)?.properties;
  const names = Object.keys(properties ?? {});
  const taken = names.length
    ? `the ${member.plural} here are ${names.join(", ")}`
    : `no ${member.singular} is taken here`;
  return { ...issue, message: `Unexpected ${member.unexpected} (${taken})` };
}

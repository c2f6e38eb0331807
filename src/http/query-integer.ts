/**
 * Whole-number query parameters. Elysia's numeric coercion reports a range error without the
 * field's name, so query numbers arrive as digit strings and are range-checked here, where
 * the message can name the field.
 */
import { t } from "elysia";
import { invalidRequest } from "../errors/keygate-error.ts";

/** The query schema of a whole number: digits only. */
export const QueryInteger = t.String({
  pattern: "^[0-9]{1,15}$",
  description: "a whole number, in digits (at most 15)",
});

/** The value of an optional whole-number query parameter, within [min, max]. */
export function queryInteger(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (value < min || value > max)
    throw invalidRequest(`${name} must be between ${min} and ${max}.`, name);
  return value;
}

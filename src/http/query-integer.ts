/**
 * Whole-number query parameters. Elysia's numeric coercion reports a range error without the
 * field's name, so query numbers arrive as digit strings and are range-checked here, where
 * the message can name the field. The OpenAPI document publishes each as the integer it is,
 * with its range and default (openapi.ts), so that a generated client takes a number.
 */
import { t } from "elysia";
import { invalidRequest } from "../errors/keygate-error.ts";
import { PUBLISHED_AS } from "./published-schema.ts";

/** A whole-number query parameter: the schema its route validates with, and its reader. */
export interface WholeNumberParameter {
  /** Digits only; published as an integer from `min` to `max`. */
  schema: ReturnType<typeof t.String>;
  /** The value sent, or the default when none was; out of range is `invalid_request`. */
  read(raw: string | undefined): number;
}

/** The whole-number query parameter `name`, from `min` to `max`, `fallback` when not sent. */
export function wholeNumberParameter(
  name: string,
  min: number,
  max: number,
  fallback: number,
): WholeNumberParameter {
  return {
    schema: t.String({
      pattern: "^[0-9]{1,15}$",
      description: "a whole number, in digits (at most 15)",
      [PUBLISHED_AS]: { type: "integer", minimum: min, maximum: max, default: fallback },
    }),
    read(raw) {
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (value < min || value > max)
        throw invalidRequest(`${name} must be between ${min} and ${max}.`, name);
      return value;
    },
  };
}

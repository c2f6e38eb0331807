/** Schema pieces shared by several aggregates' events. */
import { type TSchema, Type } from "@sinclair/typebox";

/** `T | null`. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** An ISO 8601 UTC timestamp, as every event writes them. */
export const Timestamp = Type.String({
  pattern: "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$",
});

/** An entity id. */
export const EntityId = Type.String({ pattern: "^ent_[0-9A-Za-z]+$" });

/** A lowercase hex SHA-256 digest (64 characters). */
export const Sha256Hex = Type.String({ pattern: "^[0-9a-f]{64}$" });

/** Why the configuration cannot be used; the message names the source and the field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

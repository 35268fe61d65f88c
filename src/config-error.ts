/** A setting (or the policy file) that stops the start: names the setting, never its value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Request keys named back in errors and audit lines. A key comes from the caller and may be
 * anything, a credential pasted in the wrong place included (`{"<pat>": 1}`, `?<pat>=1`): only
 * one shaped like our field names is repeated. Letters and underscores, at most 32: a PAT (52 or
 * 84 characters, with digits), a client secret (40, with `~`) or a JWT never fits.
 */
const FIELD_NAME = /^[A-Za-z][A-Za-z_]{0,31}$/;

/** What stands for a key that is not repeated. */
export const UNNAMED_FIELD = "(unknown field)";

export function isFieldName(key: string): boolean {
  return FIELD_NAME.test(key);
}

/** A key, or UNNAMED_FIELD when it is not shaped like a field name. */
export function fieldName(key: PropertyKey): string {
  if (typeof key === "number") return String(key);
  return typeof key === "string" && isFieldName(key) ? key : UNNAMED_FIELD;
}

/** zod's unrecognized keys, as a message that names only the field-shaped ones. */
export function unknownFieldsMessage(keys: readonly string[]): string {
  const named = keys.filter(isFieldName);
  const unnamed = keys.length - named.length;
  const rest =
    unnamed === 0
      ? []
      : [`${unnamed === 1 ? "one" : unnamed} not shaped like a field name (not repeated here)`];
  return `unknown field(s): ${[...named, ...rest].join(", ")}`;
}

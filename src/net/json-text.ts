/** JSON text as a value, or undefined when it is not JSON: the caller's zod schema then refuses it. */
export function jsonOrUndefined(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

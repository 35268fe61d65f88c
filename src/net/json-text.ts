/** JSON text as a value, or undefined when it is not JSON: the caller's zod schema then refuses it. */
export function jsonOrUndefined(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A JSON path segment: an object key or an array index. */
export type JsonPathSegment = string | number;

type Frame = { keys: Set<string>; key: string | undefined } | { index: number };

/**
 * The one scanner of valid JSON text for keys repeated within one object: tells `found` each
 * repeat, with its path worked out only if asked; stops when `found` answers true.
 */
function scanDuplicateKeys(text: string, found: (path: () => JsonPathSegment[]) => boolean): void {
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top !== undefined && "keys" in top) {
        // Compare keys as JSON reads them: "a" and "\u0061" are the same key.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          const path = () => [...stack.slice(0, -1).map((f) => ("keys" in f ? (f.key ?? "") : f.index)), key];
          if (found(path)) return;
        }
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push({ keys: new Set(), key: undefined });
      expectKey = true;
    } else if (c === "[") {
      stack.push({ index: 0 });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top !== undefined && "keys" in top) expectKey = true;
      else if (top !== undefined) top.index++;
    }
  }
}

/**
 * Whether valid JSON text repeats a key within one object. JSON.parse keeps the last of them, and
 * another parser (a proxy, a WAF, a log pipeline) may keep the first: the same body would mean two
 * things. The broker refuses such bodies, as it refuses repeated form fields.
 */
export function hasDuplicateKeys(text: string): boolean {
  let repeated = false;
  scanDuplicateKeys(text, () => (repeated = true));
  return repeated;
}

/** Every repeated key, as the path of its second (and later) occurrence (the policy check's messages). */
export function duplicateKeyPaths(text: string): JsonPathSegment[][] {
  const found: JsonPathSegment[][] = [];
  scanDuplicateKeys(text, (path) => {
    found.push(path());
    return false;
  });
  return found;
}

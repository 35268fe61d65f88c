/**
 * Whether valid JSON text repeats a key within one object. JSON.parse keeps the last of them, and
 * another parser (a proxy, a WAF, a log pipeline) may keep the first: the same body would mean two
 * things. The broker refuses such bodies, as it refuses repeated form fields.
 */
export function hasDuplicateKeys(text: string): boolean {
  // One entry per open object or array: the keys seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top instanceof Set) {
        // Compare keys as JSON reads them: "a" and "\u0061" are the same key.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return true;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      stack.push(null);
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}

/**
 * Whether a path is left out by an ignore file in gitignore syntax (.funcignore), for the rules
 * this project uses: `#` comments, `!` negation, `*`, `**` and `?`, a leading or inner `/`
 * anchoring to the root, a trailing `/` for directories. A pattern that matches a directory
 * leaves out everything under it; the last matching line wins.
 */
export function isExcluded(ignoreFile: string, filePath: string): boolean {
  const segments = filePath.split("/");
  let excluded = false;
  for (const raw of ignoreFile.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    let pattern = negated ? line.slice(1) : line;
    const directoryOnly = pattern.endsWith("/");
    if (directoryOnly) pattern = pattern.slice(0, -1);
    const anchored = pattern.includes("/");
    if (pattern.startsWith("/")) pattern = pattern.slice(1);
    const regex = new RegExp(`^${globToRegex(pattern)}$`);
    // The file itself, or any directory above it (directories only for a trailing slash).
    const candidates = segments.flatMap((_, i) => prefixes(segments, anchored, i));
    const matches = candidates.some(
      ({ text, isDirectory }) => (isDirectory || !directoryOnly) && regex.test(text),
    );
    if (matches) excluded = !negated;
  }
  return excluded;
}

/** Each ancestor directory and the file itself, as the text a pattern is tested against. */
function prefixes(
  segments: string[],
  anchored: boolean,
  end: number,
): { text: string; isDirectory: boolean }[] {
  const upTo = segments.slice(0, end + 1);
  const isDirectory = end < segments.length - 1;
  if (anchored) return [{ text: upTo.join("/"), isDirectory }];
  return [{ text: upTo.at(-1) ?? "", isDirectory }];
}

function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === "*" && glob.charAt(i + 1) === "*") {
      out += ".*";
      i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

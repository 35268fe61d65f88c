import { readFileSync } from "node:fs";

/**
 * The package's version, read from its package.json at run time: the compiled CLI sits at
 * `dist/src/cli/`, three levels below it, both in a clone and in an installed package.
 */
export function cliVersion(): string {
  try {
    const raw = readFileSync(new URL("../../../package.json", import.meta.url), "utf8");
    const pkg = JSON.parse(raw) as { name?: unknown; version?: unknown };
    // Some other package.json (a moved file) must not lend its version.
    if (pkg.name === "token-broker" && typeof pkg.version === "string") return pkg.version;
  } catch {
    // Fall through: no package.json there.
  }
  return "unknown";
}

#!/usr/bin/env node
// Lists the src/ modules no test file imports directly (reached, if at all, only through the dev
// stack): the candidates for a focused test of their own. `--all` also counts test/support/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
const withSupport = process.argv.includes("--all");
const testFiles = walk(path.join(root, "test")).filter(
  (f) => f.endsWith(".test.ts") || (withSupport && f.includes(`${path.sep}support${path.sep}`)),
);
const imported = new Set();
for (const file of testFiles) {
  for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    if (!spec.startsWith(".")) continue;
    imported.add(path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"));
  }
}
const modules = walk(path.join(root, "src"));
const untested = modules
  .filter((m) => !imported.has(m))
  .map((m) => ({ module: path.relative(root, m), lines: readFileSync(m, "utf8").split("\n").length }))
  .sort((a, b) => b.lines - a.lines);
const out = untested.map(({ module, lines }) => `${String(lines).padStart(5)}  ${module}\n`).join("");
process.stdout.write(`${out}${untested.length} of ${modules.length} src modules imported by no test file\n`);

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** Files by job: a module that grows past this is doing several and wants splitting. */
const MAX_LINES = 300;
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

test(`no source file in src/ is over ${MAX_LINES} lines`, () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 50, "the sources were found");
  const long = files
    .map((f) => ({ file: path.relative(SRC, f), lines: readFileSync(f, "utf8").split("\n").length }))
    .filter((f) => f.lines > MAX_LINES);
  assert.deepEqual(long, []);
});

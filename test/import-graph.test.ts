import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The house rules as an import graph of src/: the domain knows neither HTTP nor the hosts, only
 * src/functions/ touches the Functions SDK, only src/local/ reaches the emulators, and no module
 * cycle (a cycle makes load order, and so cold start and lazy handlers, fragile).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = path.join(ROOT, "src");

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Every import of a file: static, re-export and dynamic `import()`, with whether it is type-only. */
function importsOf(file: string, text: string): { specifier: string; typeOnly: boolean }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.phaseModifier === ts.SyntaxKind.TypeKeyword ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      out.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) out.push({ specifier: lit.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function graph(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file).split(path.sep).join("/");
    for (const { specifier, typeOnly } of importsOf(file, readFileSync(file, "utf8"))) {
      const to = specifier.startsWith(".")
        ? path
            .relative(SRC, path.resolve(path.dirname(file), specifier))
            .split(path.sep)
            .join("/")
            .replace(/\.js$/, ".ts")
        : specifier;
      edges.push({ from, to, typeOnly });
    }
  }
  return edges;
}

const EDGES = graph();
const under = (dir: string) => (p: string) => p.startsWith(`${dir}/`);

test("the import graph is read: a known edge is found (a check that cannot fail is a defect)", () => {
  assert.ok(EDGES.some((e) => e.from === "functions/azure.ts" && e.to === "@azure/functions"));
  assert.ok(EDGES.some((e) => e.from === "functions/registrations.ts" && e.to.startsWith("http/")));
});

test("nothing outside src/http/ and src/functions/ imports src/http/ (types included)", () => {
  const bad = EDGES.filter(
    (e) => under("http")(e.to) && !under("http")(e.from) && !under("functions")(e.from),
  );
  assert.deepEqual(bad, []);
});

test("the domain reaches no host: nothing outside src/functions/ and src/local/ imports them", () => {
  const host = (p: string) => under("functions")(p) || under("local")(p);
  assert.deepEqual(
    EDGES.filter((e) => host(e.to) && !host(e.from)),
    [],
  );
});

test("only src/functions/ imports @azure/functions", () => {
  assert.deepEqual(
    EDGES.filter((e) => e.to.startsWith("@azure/functions") && !under("functions")(e.from)),
    [],
  );
});

test("only src/local/ reaches the emulators", () => {
  assert.deepEqual(
    EDGES.filter((e) => under("local/emulators")(e.to) && !under("local")(e.from)),
    [],
  );
});

/** Strongly connected components of more than one module (Tarjan). */
function cycles(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return found;
}

test("the cycle finder finds a cycle", () => {
  assert.deepEqual(
    cycles([
      { from: "a", to: "b" },
      { from: "b", to: "c" },
      { from: "c", to: "a" },
      { from: "c", to: "d" },
    ]),
    [["a", "b", "c"]],
  );
});

test("no module cycle in src/ (runtime imports, dynamic ones included)", () => {
  assert.deepEqual(cycles(EDGES.filter((e) => !e.typeOnly)), []);
});

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type Parser from "tree-sitter";

/**
 * Reading Bicep as a syntax tree (tree-sitter-bicep), so infrastructure checks look at what a
 * declaration says, not at text that happens to appear in a comment or a description.
 */

export type Node = Parser.SyntaxNode;

// Both packages are CommonJS native addons; createRequire loads them from this ES module.
const require = createRequire(import.meta.url);
const TreeSitter = require("tree-sitter") as typeof Parser;
const bicepLanguage = require("tree-sitter-bicep") as Parser.Language;

let parser: Parser | undefined;

export function parseBicep(source: string): Node {
  parser ??= new TreeSitter();
  parser.setLanguage(bicepLanguage);
  return parser.parse(source).rootNode;
}

export interface BicepFile {
  /** Path relative to the folder searched, with forward slashes (e.g. `app/storage.bicep`). */
  name: string;
  root: Node;
}

export function bicepFilesUnder(dir: string): BicepFile[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".bicep"))
    .sort()
    .map((file) => ({
      name: file.split(path.sep).join("/"),
      root: parseBicep(readFileSync(path.join(dir, file), "utf8")),
    }));
}

function descendants(node: Node): Node[] {
  const out: Node[] = [];
  const stack = [node];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === undefined) break;
    out.push(current);
    for (let i = current.childCount - 1; i >= 0; i--) {
      const child = current.child(i);
      if (child !== null) stack.push(child);
    }
  }
  return out;
}

/** ERROR and MISSING nodes, as `line:column text` (1-based lines). */
export function syntaxProblems(root: Node): string[] {
  return descendants(root)
    .filter((n) => n.type === "ERROR" || n.isMissing)
    .map(
      (n) =>
        `${n.isMissing ? "missing" : "error"} at ${n.startPosition.row + 1}:${n.startPosition.column + 1} ${n.text.slice(0, 60)}`,
    );
}

/** The decorators written just before a declaration, by name (`description`, `secure`, …). */
function decoratorsOf(declaration: Node): Map<string, Node> {
  const found = new Map<string, Node>();
  const previous = declaration.previousNamedSibling;
  if (previous?.type !== "decorators") return found;
  for (const decorator of previous.namedChildren) {
    const expression = decorator.namedChildren[0];
    const callee = expression?.type === "call_expression" ? expression.namedChildren[0] : expression;
    if (expression !== undefined && callee !== undefined) found.set(callee.text, expression);
  }
  return found;
}

export interface Param {
  name: string;
  decorators: Map<string, Node>;
  /** The default value's expression, if the declaration has one. */
  defaultValue: Node | undefined;
}

export function params(root: Node): Param[] {
  return root.namedChildren
    .filter((n) => n.type === "parameter_declaration")
    .map((n) => {
      const equals = n.children.findIndex((c) => c.type === "=");
      return {
        name: n.namedChildren[0]?.text ?? "",
        decorators: decoratorsOf(n),
        defaultValue: equals >= 0 ? n.children[equals + 1] : undefined,
      };
    });
}

export interface Output {
  name: string;
  decorators: Map<string, Node>;
  value: Node | undefined;
}

export function outputs(root: Node): Output[] {
  return root.namedChildren
    .filter((n) => n.type === "output_declaration")
    .map((n) => ({
      name: n.namedChildren[0]?.text ?? "",
      decorators: decoratorsOf(n),
      value: n.namedChildren.at(-1),
    }));
}

export interface Resource {
  symbol: string;
  /** Resource type without the API version, e.g. `Microsoft.KeyVault/vaults`. */
  type: string;
  apiVersion: string;
  /** `existing` references a resource declared elsewhere; its body says nothing about posture. */
  existing: boolean;
  /** The declaration's object, looking through `if (…)` and `[for …: …]`. */
  body: Node | undefined;
  /** For `[for x in collection: …]`, the collection expression. */
  loopOver: Node | undefined;
}

function innerObject(node: Node | undefined): Node | undefined {
  if (node === undefined) return undefined;
  if (node.type === "object") return node;
  if (node.type === "if_statement" || node.type === "for_statement") {
    return node.namedChildren.find((c) => c.type === "object" || c.type === "if_statement");
  }
  return undefined;
}

function loopCollection(node: Node | undefined): Node | undefined {
  if (node?.type !== "for_statement") return undefined;
  const inIndex = node.children.findIndex((c) => c.type === "in");
  return inIndex >= 0 ? node.children[inIndex + 1] : undefined;
}

export function resources(root: Node): Resource[] {
  return root.namedChildren
    .filter((n) => n.type === "resource_declaration")
    .map((n) => {
      const typeString = literal(n.namedChildren[1]);
      const [type = "", apiVersion = ""] = typeof typeString === "string" ? typeString.split("@") : [];
      return {
        symbol: n.namedChildren[0]?.text ?? "",
        type,
        apiVersion,
        existing: n.children.some((c) => c.type === "existing"),
        body: innerObject(n.namedChildren.at(-1)),
        loopOver: loopCollection(n.namedChildren.at(-1)),
      };
    });
}

export interface Module {
  symbol: string;
  path: string;
  body: Node | undefined;
}

export function modules(root: Node): Module[] {
  return root.namedChildren
    .filter((n) => n.type === "module_declaration")
    .map((n) => {
      const modulePath = literal(n.namedChildren[1]);
      return {
        symbol: n.namedChildren[0]?.text ?? "",
        path: typeof modulePath === "string" ? modulePath : "",
        body: innerObject(n.namedChildren.at(-1)),
      };
    });
}

/** `var name = value` declarations of a file, by name. */
export function variables(root: Node): Map<string, Node> {
  const found = new Map<string, Node>();
  for (const n of root.namedChildren) {
    if (n.type !== "variable_declaration") continue;
    const [name, value] = [n.namedChildren[0], n.namedChildren.at(-1)];
    if (name !== undefined && value !== undefined) found.set(name.text, value);
  }
  return found;
}

/** An object's keys (identifiers or plain strings) with their value expressions, in order. */
export function objectEntries(object: Node | undefined): [string, Node][] {
  if (object?.type !== "object") return [];
  const entries: [string, Node][] = [];
  for (const property of object.namedChildren) {
    if (property.type !== "object_property") continue;
    const [key, value] = [property.namedChildren[0], property.namedChildren.at(-1)];
    if (key === undefined || value === undefined) continue;
    const name = key.type === "string" ? literal(key) : key.text;
    if (typeof name === "string") entries.push([name, value]);
  }
  return entries;
}

/** An array's elements (comments left out). */
export function arrayItems(array: Node | undefined): Node[] {
  if (array?.type !== "array") return [];
  return array.namedChildren.filter((n) => n.type !== "comment");
}

/** The value at a key path inside nested objects: `property(body, "properties", "siteConfig")`. */
export function property(object: Node | undefined, ...keys: string[]): Node | undefined {
  let current = object;
  for (const key of keys) {
    current = objectEntries(current).find(([name]) => name === key)?.[1];
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * A literal's value: a string without interpolation, a number, a boolean or null. Anything
 * computed is `undefined`: a check that wants a literal cannot be satisfied by an expression.
 */
export function literal(node: Node | undefined): string | number | boolean | null | undefined {
  if (node === undefined) return undefined;
  switch (node.type) {
    case "string": {
      if (node.namedChildren.some((c) => c.type !== "string_content" && c.type !== "escape_sequence")) {
        return undefined;
      }
      return node.namedChildren
        .map((c) => (c.type === "escape_sequence" ? c.text.slice(1) : c.text))
        .join("");
    }
    case "number":
      return Number(node.text);
    case "boolean":
      return node.text === "true";
    case "null":
      return null;
    default:
      return undefined;
  }
}

/** Every call in a tree by the name called: `f(…)` and `x.f(…)` both count as `f`. */
export function calls(root: Node): { name: string; node: Node }[] {
  return descendants(root)
    .filter((n) => n.type === "call_expression")
    .map((n) => {
      const callee = n.namedChildren[0];
      const name =
        callee?.type === "member_expression"
          ? (callee.namedChildren.at(-1)?.text ?? "")
          : (callee?.text ?? "");
      return { name, node: n };
    });
}

/** The identifiers an expression reads (not property names after a dot). */
export function identifiersIn(node: Node): Set<string> {
  return new Set(
    descendants(node)
      .filter((n) => n.type === "identifier")
      .map((n) => n.text),
  );
}

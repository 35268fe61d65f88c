import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { registrations } from "../src/functions/registrations.js";
import type { MethodDeclaration } from "../src/http/route.js";
import type { Runtime } from "../src/runtime.js";
import { ROOT } from "./support/functions-worker.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";

/**
 * The registration table is the one declaration of every route: the OpenAPI document says what it
 * declares, the handlers parse exactly that (no undeclared parameter passes, every declared one is
 * read), and the README's route list names the same routes and callers.
 */

interface Operation {
  summary: string;
  security?: unknown[];
  "x-app-role"?: string;
  parameters: { name: string; in: string; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
}

const jsonSchema = (s: z.ZodType) => {
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete out["$schema"];
  return out;
};

const declared = registrations.http.flatMap((route) =>
  Object.entries(route.methods).map(([method, decl]) => ({
    route,
    method,
    decl: decl,
  })),
);

const sample = (route: string) => `/${route.replace(/\{[^}]+\}/g, "routes-test-item")}`;

async function openApi(): Promise<{ paths: Record<string, Record<string, Operation>> }> {
  const GET = registrations.http.find((r) => r.name === "openapi")?.methods.GET;
  assert.ok(GET !== undefined);
  const res = await GET.run(
    {
      method: "GET",
      path: "/openapi.json",
      query: new URLSearchParams(),
      headers: {},
      params: {},
      body: null,
    },
    // The document needs nothing of the runtime.
    undefined as unknown as Runtime,
  );
  return JSON.parse(res.body ?? "") as { paths: Record<string, Record<string, Operation>> };
}

describe("the registration table as the one declaration of each route", () => {
  test("OpenAPI documents exactly the declared query parameters, bodies, roles and summaries", async () => {
    const doc = await openApi();
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    assert.deepEqual(
      documented.sort(),
      declared.map(({ route, method }) => `${method} /api/${route.route}`).sort(),
    );
    for (const { route, method, decl } of declared) {
      const op = doc.paths[`/api/${route.route}`]?.[method.toLowerCase()];
      const where = `${method} ${route.route}`;
      assert.ok(op !== undefined, where);
      assert.equal(op.summary, decl.summary, where);
      const properties = (jsonSchema(decl.query)["properties"] ?? {}) as Record<string, unknown>;
      assert.deepEqual(
        op.parameters.filter((p) => p.in === "query").map((p) => [p.name, p.schema]),
        Object.entries(properties),
        where,
      );
      const bodies = Object.entries(decl.body ?? {}).map(([type, s]) => [type, { schema: jsonSchema(s) }]);
      assert.deepEqual(Object.entries(op.requestBody?.content ?? {}), bodies, where);
      assert.equal(
        op["x-app-role"],
        decl.access === "public" || decl.access === "granted" || decl.access === "authenticated"
          ? undefined
          : decl.access,
      );
      assert.equal(op.security !== undefined && op.security.length === 0, decl.access === "public", where);
    }
    // The parameters the handlers read for inventory writes (once lost from the document).
    const names = (p: string, m: string) => doc.paths[p]?.[m]?.parameters.map((x) => x.name);
    assert.deepEqual(names("/api/inventory/{name}", "put"), ["name", "recover"]);
    assert.deepEqual(names("/api/inventory/{name}", "delete"), ["name", "upstream"]);
  });

  test("the README's route list is the table's, with the same callers", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n");
    const start = readme.findIndex((l) => /^\|\s*method, route\s*\|/.test(l));
    assert.ok(start >= 0, "the README has a route table");
    const rows: string[][] = [];
    for (const line of readme.slice(start + 2)) {
      if (!line.startsWith("|")) break;
      rows.push(
        line
          .split("|")
          .map((c) => c.trim())
          .slice(1, -1),
      );
    }
    const who = (decl: MethodDeclaration) =>
      decl.access === "public"
        ? "anyone"
        : decl.access === "granted"
          ? "granted callers"
          : decl.access === "authenticated"
            ? "any caller"
            : `\`${decl.access}\``;
    const inReadme = rows.map(([route = "", caller = ""]) => `${route.replace(/`/g, "")} ${caller}`).sort();
    const inTable = declared
      .map(({ route, method, decl }) => `${method} /api/${route.route} ${who(decl)}`)
      .sort();
    assert.deepEqual(inReadme, inTable);
  });
});

describe("the handlers parse exactly the declared query", () => {
  let stack: TestStack;
  let admin: string;
  before(async () => {
    stack = await startTestStack();
    admin = await callerToken(stack, "dev-admin");
  });
  after(() => stack.close());

  /** An admin may call every role route; the token route checks its query before anything else. */
  const call = (method: string, route: string, query: string) =>
    stack.api(`${sample(route)}?${query}`, {
      method,
      headers: { authorization: `Bearer ${admin}` },
    });

  test("an undeclared query parameter is refused (400), on every route and method", async () => {
    for (const { route, method } of declared) {
      const res = await call(method, route.route, "undeclared=1");
      const body = (await res.json()) as { code: string; errors?: { field: string; message: string }[] };
      assert.equal(res.status, 400, `${method} ${route.route}`);
      assert.equal(body.code, "invalid_request");
      assert.deepEqual(body.errors, [{ field: "(query)", message: "unknown field(s): undeclared" }]);
    }
  });

  test("every declared query parameter is read: an invalid value is refused, naming it", async () => {
    for (const { route, method, decl } of declared) {
      const properties = Object.keys(jsonSchema(decl.query)["properties"] ?? {});
      for (const name of properties) {
        // Empty fails every declared parameter (enums, whole numbers, non-empty strings).
        const res = await call(method, route.route, `${name}=`);
        const body = (await res.json()) as { errors?: { field: string }[] };
        assert.equal(res.status, 400, `${method} ${route.route} ?${name}`);
        assert.deepEqual(
          body.errors?.map((e) => e.field),
          [name],
          `${method} ${route.route} ?${name}`,
        );
      }
    }
  });
});

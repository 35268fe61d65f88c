import { z } from "zod";
import { json, type HttpRoute, type MethodDeclaration, type RouteHandler } from "../route.js";
import { SECRET_NAME } from "../../inventory/managed-credential.js";

/**
 * `GET /api/openapi.json`: OpenAPI 3.1 of the HTTP surface, built from the registration table
 * handed in (the table is not imported here: it loads this module). Paths, summaries, roles,
 * query parameters and bodies are the declarations the pipeline parses and checks with, so the
 * document cannot drift from what the handlers accept.
 */

const schema = (s: z.ZodType) => {
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete out["$schema"];
  return out;
};

const problem = {
  description: "RFC 9457 problem details with a stable `code`",
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
};

/** Methods with a rate class (BROKER_RATE_LIMIT, BROKER_ADMIN_RATE_LIMIT) may answer this. */
const rateLimited = {
  description:
    "Over the caller's rate limit on this instance (`rate_limited`): Retry-After says when its next request is admitted",
  headers: {
    "Retry-After": { description: "whole seconds, at least 1", schema: { type: "integer", minimum: 1 } },
  },
  content: problem.content,
};

export function queryParameters(query: z.ZodType): Record<string, unknown>[] {
  const properties = (schema(query)["properties"] ?? {}) as Record<string, unknown>;
  return Object.entries(properties).map(([name, s]) => ({ name, in: "query", required: false, schema: s }));
}

/** The request bodies of a method, by media type, as OpenAPI `content`. */
export function requestBodies(
  declaration: MethodDeclaration,
): Record<string, { schema: unknown }> | undefined {
  const bodies = Object.entries(declaration.body ?? {});
  if (bodies.length === 0) return undefined;
  return Object.fromEntries(bodies.map(([type, s]) => [type, { schema: schema(s) }]));
}

export function openApiDocument(routes: readonly HttpRoute[]): string {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/${route.route}`;
    const params = [...route.route.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string", pattern: SECRET_NAME.source },
    }));
    for (const [method, op] of Object.entries(route.methods)) {
      const content = requestBodies(op);
      paths[path] ??= {};
      paths[path][method.toLowerCase()] = {
        operationId: `${route.name}-${method.toLowerCase()}`,
        summary: op.summary,
        ...(op.access === "public" ? { security: [] } : {}),
        ...(op.access !== "public" && op.access !== "granted" && op.access !== "authenticated"
          ? { "x-app-role": op.access }
          : {}),
        parameters: [...params, ...queryParameters(op.query)],
        ...(content !== undefined ? { requestBody: { required: true, content } } : {}),
        responses: {
          "200": { description: "OK" },
          ...(op.rateLimit !== undefined ? { "429": rateLimited } : {}),
          default: problem,
        },
        ...(op.rateLimit !== undefined ? { "x-rate-limit": op.rateLimit } : {}),
      };
    }
  }
  return JSON.stringify({
    openapi: "3.1.0",
    info: { title: "Token Broker", version: "1" },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status", "detail", "code"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string" },
            errors: {
              type: "array",
              items: {
                type: "object",
                properties: { field: { type: "string" }, message: { type: "string" } },
              },
            },
          },
        },
      },
    },
  });
}

/** The handler for a table; the document is built at its first call and kept with it. */
export function openApiHandler(routes: () => readonly HttpRoute[]): RouteHandler {
  let document: string | undefined;
  return () => {
    document ??= openApiDocument(routes());
    return Promise.resolve({ ...json(200, null), body: document });
  };
}

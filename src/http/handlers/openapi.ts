import { z } from "zod";
import { importRequestSchema } from "../../inventory/import-request.js";
import { json, type Handler } from "../route.js";
import { listQuery } from "./inventory.js";
import { exchangeRequest, tokenJsonRequest } from "./token.js";
import { SECRET_NAME } from "../../inventory/managed-credential.js";

/**
 * `GET /api/openapi.json`: OpenAPI 3.1 of the HTTP surface. Paths come from the registration table
 * and bodies from the very zod schemas the handlers parse with, so the document cannot drift.
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

interface Operation {
  summary: string;
  role?: "Inventory.Read" | "Secrets.Admin" | "granted";
  body?: Record<string, unknown>;
  query?: z.ZodType;
}

const OPERATIONS: Record<string, Partial<Record<string, Operation>>> = {
  token: {
    POST: {
      summary: "A credential for one profile (JSON, or an RFC 8693 token-exchange form)",
      role: "granted",
      body: {
        "application/json": { schema: schema(tokenJsonRequest) },
        "application/x-www-form-urlencoded": { schema: schema(exchangeRequest) },
      },
    },
  },
  "inventory-list": {
    GET: {
      summary: "Managed credentials, metadata only (JSON pages or CSV)",
      role: "Inventory.Read",
      query: listQuery,
    },
  },
  "inventory-item": {
    GET: { summary: "One credential's metadata", role: "Inventory.Read" },
    PUT: {
      summary: "Import (201) or update (200); without a value the broker creates it upstream",
      role: "Secrets.Admin",
      body: { "application/json": { schema: schema(importRequestSchema) } },
    },
    DELETE: { summary: "Revoke upstream, then soft-delete", role: "Secrets.Admin" },
  },
  "inventory-versions": { GET: { summary: "The credential's versions (metadata)", role: "Inventory.Read" } },
  "inventory-rotate": { POST: { summary: "Rotate now", role: "Secrets.Admin" } },
  "rotation-sweep": { POST: { summary: "Run the rotation sweep now", role: "Secrets.Admin" } },
  "notice-sweep": { POST: { summary: "Run the expiry-notice sweep now", role: "Secrets.Admin" } },
  health: { GET: { summary: "Liveness" } },
  openapi: { GET: { summary: "This document" } },
};

function queryParameters(query: z.ZodType): Record<string, unknown>[] {
  const properties = (schema(query)["properties"] ?? {}) as Record<string, unknown>;
  return Object.entries(properties).map(([name, s]) => ({ name, in: "query", required: false, schema: s }));
}

let document: string | undefined;

async function build(): Promise<string> {
  // Imported here, not at the top: the table imports this handler.
  const { registrations } = await import("../../functions/registrations.js");
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of registrations.http) {
    const path = `/api/${route.route}`;
    const params = [...route.route.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string", pattern: SECRET_NAME.source },
    }));
    for (const method of Object.keys(route.methods)) {
      const op = OPERATIONS[route.name]?.[method];
      paths[path] ??= {};
      paths[path][method.toLowerCase()] = {
        operationId: `${route.name}-${method.toLowerCase()}`,
        summary: op?.summary ?? route.name,
        ...(op?.role === undefined ? { security: [] } : {}),
        ...(op?.role !== undefined && op.role !== "granted" ? { "x-app-role": op.role } : {}),
        parameters: [...params, ...(op?.query !== undefined ? queryParameters(op.query) : [])],
        ...(op?.body !== undefined ? { requestBody: { required: true, content: op.body } } : {}),
        responses: { "200": { description: "OK" }, default: problem },
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

export const getOpenApi: Handler = async () => {
  document ??= await build();
  return { ...json(200, null), body: document };
};

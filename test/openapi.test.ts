import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { registrations } from "../src/functions/registrations.js";
import type { BrokerRequest } from "../src/http/types.js";
import type { Runtime } from "../src/runtime.js";

/** The registered method, through the pipeline, as a host calls it. */
function getOpenApi(req: BrokerRequest, rt: Runtime) {
  const declared = registrations.http.find((r) => r.name === "openapi")?.methods.GET;
  assert.ok(declared !== undefined);
  return declared.run(req, rt);
}

describe("GET /api/openapi.json", () => {
  test("describes every route of the table, with the bodies the handlers parse", async () => {
    const res = await getOpenApi(
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
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body ?? "") as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    assert.equal(doc.openapi, "3.1.0");
    for (const route of registrations.http) {
      const path = doc.paths[`/api/${route.route}`];
      assert.ok(path !== undefined, route.route);
      assert.deepEqual(
        Object.keys(path).sort(),
        Object.keys(route.methods)
          .map((m) => m.toLowerCase())
          .sort(),
      );
    }
    const put = doc.paths["/api/inventory/{name}"]?.["put"]?.requestBody?.content["application/json"]
      ?.schema as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    assert.ok("kind" in put.properties && "value" in put.properties && "lifetimeDays" in put.properties);
    assert.equal(put.additionalProperties, false);
    const token = doc.paths["/api/token"]?.["post"]?.requestBody?.content;
    assert.deepEqual(Object.keys(token ?? {}).sort(), [
      "application/json",
      "application/x-www-form-urlencoded",
    ]);
  });
});

describe("GET /api/openapi.json: rate limits", () => {
  test("documents 429 with Retry-After exactly where the table declares a rate class", async () => {
    const declared = registrations.http.find((r) => r.name === "openapi")?.methods.GET;
    assert.ok(declared !== undefined);
    const res = await declared.run(
      {
        method: "GET",
        path: "/openapi.json",
        query: new URLSearchParams(),
        headers: {},
        params: {},
        body: null,
      },
      undefined as unknown as Runtime,
    );
    type Op = { responses: Record<string, { headers?: Record<string, unknown> }>; "x-rate-limit"?: string };
    const doc = JSON.parse(res.body ?? "") as { paths: Record<string, Record<string, Op>> };
    const limited: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const tooMany = op.responses["429"];
        assert.equal(tooMany !== undefined, op["x-rate-limit"] !== undefined, `${method} ${path}`);
        if (tooMany === undefined) continue;
        assert.ok(tooMany.headers?.["Retry-After"] !== undefined);
        limited.push(`${op["x-rate-limit"]} ${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(limited.sort(), [
      "admin DELETE /api/inventory/{name}",
      "admin POST /api/inventory/{name}/rotate",
      "admin POST /api/sweeps/notices",
      "admin POST /api/sweeps/rotation",
      "admin PUT /api/inventory/{name}",
      "caller POST /api/policy/explain",
      "caller POST /api/token",
    ]);
  });
});

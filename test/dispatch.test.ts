import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { dispatch } from "../src/http/dispatch.js";
import { problems } from "../src/http/problem.js";
import { json, method, type HttpRoute } from "../src/http/route.js";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { brokerRequest, unitRuntime } from "./support/unit-runtime.js";

/** A public route whose GET answers with what the handler gets, or throws what `throwing` holds. */
function route(throwing?: () => unknown): HttpRoute {
  const get = method({
    summary: "test",
    access: "public",
    query: z.strictObject({ n: z.coerce.number().int().optional() }),
    handler: () =>
      Promise.resolve(async (input: { query: { n?: number | undefined } }) => {
        await Promise.resolve();
        if (throwing !== undefined) throw throwing();
        return json(200, { n: input.query.n ?? null });
      }),
  });
  return { name: "test", route: "test", methods: { GET: get, POST: get } };
}

describe("dispatch", () => {
  const { rt, lines } = unitRuntime();

  test("the declared method runs with its parsed query; every answer says nosniff", async () => {
    const res = await dispatch(route(), rt, brokerRequest({ query: new URLSearchParams("n=7") }));
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body ?? ""), { n: 7 });
    assert.equal(res.headers["x-content-type-options"], "nosniff");
  });

  test("the method is matched whatever its case", async () => {
    assert.equal((await dispatch(route(), rt, brokerRequest({ method: "post" }))).status, 200);
  });

  test("an undeclared method: 405 naming the allowed ones", async () => {
    const res = await dispatch(route(), rt, brokerRequest({ method: "DELETE" }));
    assert.equal(res.status, 405);
    assert.equal(res.headers["allow"], "GET, POST");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
  });

  test("an undeclared query parameter is a 400 problem, not a throw", async () => {
    const res = await dispatch(route(), rt, brokerRequest({ query: new URLSearchParams("other=1") }));
    assert.equal(res.status, 400);
    assert.match(res.headers["content-type"] ?? "", /application\/problem\+json/);
  });

  test("problems and domain errors become their answers", async () => {
    assert.equal(
      (
        await dispatch(
          route(() => problems.methodNotAllowed(["GET"])),
          rt,
          brokerRequest(),
        )
      ).status,
      405,
    );
    const notFound = await dispatch(
      route(() => new InventoryError("not_found")),
      rt,
      brokerRequest(),
    );
    assert.equal(notFound.status, 404);
  });

  test("an unexpected error is a 500 with an error log, its message not in the answer", async () => {
    lines.length = 0;
    const res = await dispatch(
      route(() => new TypeError("boom at secret-ish detail")),
      rt,
      brokerRequest(),
    );
    assert.equal(res.status, 500);
    assert.ok(!(res.body ?? "").includes("secret-ish"));
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.ok(
      lines.some((l) => l["event"] === "http.unexpected_error" && l["level"] === "error"),
      JSON.stringify(lines),
    );
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { functionNameProblem, registrationProblems, routeProblem } from "../src/functions/host-rules.js";
import { registrations, type Registrations } from "../src/functions/registrations.js";
import { startDevStack } from "../src/local/dev-stack.js";
import { method } from "../src/http/route.js";
import { noQuery } from "../src/http/schemas.js";
import { createLogger } from "../src/log.js";

const ok = method({
  summary: "ok",
  access: "public",
  query: noQuery,
  handler: () => Promise.resolve(() => Promise.resolve({ status: 200, headers: {} })),
});

describe("the Functions host's registration rules", () => {
  test("the real registration table passes them", () => {
    assert.deepEqual(registrationProblems(registrations), []);
  });

  test("routes under the host's built-in admin and runtime routes are refused (plain prefix, any case)", () => {
    for (const route of [
      "admin/rotation-sweep",
      "/admin/notice-sweep/",
      "Admin/x",
      "administration/x",
      "ADMINS",
      "runtime/webhooks/x",
      "/RunTimeX",
    ]) {
      assert.match(routeProblem(route) ?? "", new RegExp(`"${route.replace(/[/]/g, "\\/")}"`), route);
    }
    for (const route of ["sweeps/rotation", "token", "inventory/{name}", "my-admin", "api/admin"]) {
      assert.equal(routeProblem(route), undefined, route);
    }
  });

  test("function names follow the host's pattern and 'host' is reserved", () => {
    for (const name of ["token", "Rotation-Sweep_2", "a", "x".repeat(128)]) {
      assert.equal(functionNameProblem(name), undefined, name);
    }
    for (const name of ["", "1token", "-a", "a.b", "a/b", "a b", "x".repeat(129), "host", "HOST"]) {
      assert.notEqual(functionNameProblem(name), undefined, name);
    }
    const twice: Registrations = {
      http: [
        { name: "same", route: "a", methods: { GET: ok } },
        { name: "Same", route: "b", methods: { GET: ok } },
      ],
      timers: [],
    };
    assert.match(registrationProblems(twice).join(), /"Same" is used twice/);
  });

  test("the local host refuses to start with a route the real host would refuse, naming it", async () => {
    for (const route of ["admin/rotation-sweep", "administration/x", "Runtime/status"]) {
      await assert.rejects(
        startDevStack({
          env: { PORT: "0" },
          log: createLogger(() => {}),
          registrations: { http: [{ name: "sweep", route, methods: { POST: ok } }], timers: [] },
        }),
        (error: Error) => error.message.includes(`"${route}"`) && /built-in/.test(error.message),
      );
    }
  });
});

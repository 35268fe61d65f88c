import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AuthError } from "../src/auth/auth-error.js";
import type { Principal } from "../src/auth/principal.js";
import { requireRole, rolesOf } from "../src/http/caller.js";
import { brokerRequest, unitRuntime } from "./support/unit-runtime.js";

const GH = "https://token.actions.githubusercontent.com";

function runtime() {
  return unitRuntime({
    grants: [
      { match: { iss: GH, repository_owner_id: "42" }, roles: ["Inventory.Read"] },
      { match: { iss: GH, sub: "repo:contoso/ops:environment:admin" }, roles: ["Secrets.Admin"] },
    ],
  }).rt;
}

function caller(issuerKind: "entra" | "trusted", claims: Record<string, unknown>): Principal {
  return { issuer: String(claims["iss"]), issuerKind, subject: String(claims["sub"]), claims, expiresAt: 0 };
}

describe("rolesOf", () => {
  const rt = runtime();
  const roles = (p: Principal) => [...rolesOf(rt, p)].sort();

  test("an Entra token's app roles count, and an admin may also read the inventory and the policy", () => {
    assert.deepEqual(roles(caller("entra", { roles: ["Inventory.Read"] })), ["Inventory.Read"]);
    assert.deepEqual(roles(caller("entra", { roles: ["Policy.Read"] })), ["Policy.Read"]);
    assert.deepEqual(roles(caller("entra", { roles: ["Secrets.Admin"] })), [
      "Inventory.Read",
      "Policy.Read",
      "Secrets.Admin",
    ]);
  });

  test("roles the broker does not know, and non-string entries, are ignored", () => {
    assert.deepEqual(roles(caller("entra", { roles: ["Other.Role", 7, "secrets.admin"] })), []);
    assert.deepEqual(roles(caller("entra", {})), []);
  });

  test("another issuer's roles claim counts for nothing; its roles come from the policy's grants", () => {
    assert.deepEqual(roles(caller("trusted", { iss: GH, sub: "x", roles: ["Secrets.Admin"] })), []);
    assert.deepEqual(roles(caller("trusted", { iss: GH, sub: "x", repository_owner_id: "42" })), [
      "Inventory.Read",
    ]);
    assert.deepEqual(roles(caller("trusted", { iss: GH, sub: "repo:contoso/ops:environment:admin" })), [
      "Inventory.Read",
      "Policy.Read",
      "Secrets.Admin",
    ]);
  });
});

describe("requireRole", () => {
  const rt = runtime();
  const request = (headers: Record<string, string>) => brokerRequest({ path: "/inventory", headers });

  test("no bearer token: refused before any key is fetched", async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer " },
    ]) {
      await assert.rejects(
        requireRole(request(headers), rt, "Inventory.Read"),
        AuthError,
        JSON.stringify(headers),
      );
    }
  });
});

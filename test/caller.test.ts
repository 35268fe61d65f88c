import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { AuthError } from "../src/auth/auth-error.js";
import type { Principal } from "../src/auth/principal.js";
import { loadConfig } from "../src/config.js";
import { requireRole, rolesOf } from "../src/http/caller.js";
import type { BrokerRequest } from "../src/http/types.js";
import { createLogger } from "../src/log.js";
import { createRuntime } from "../src/runtime.js";
import { scratchDir } from "./support/dev-stack.js";

const GH = "https://token.actions.githubusercontent.com";

/** A real runtime: building one contacts nothing, and rolesOf reads only its policy. */
function runtime() {
  const file = path.join(scratchDir(), "policy.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {},
      grants: [
        { match: { iss: GH, repository_owner_id: "42" }, roles: ["Inventory.Read"] },
        { match: { iss: GH, sub: "repo:contoso/ops:environment:admin" }, roles: ["Secrets.Admin"] },
      ],
    }),
  );
  return createRuntime(
    loadConfig({
      KEY_VAULT_URL: "https://kv-broker.vault.azure.net/",
      BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      BROKER_AUDIENCE: "api://token-broker",
      BROKER_POLICY_FILE: file,
    }),
    { log: createLogger(() => undefined) },
  );
}

function caller(issuerKind: "entra" | "trusted", claims: Record<string, unknown>): Principal {
  return { issuer: String(claims["iss"]), issuerKind, subject: String(claims["sub"]), claims, expiresAt: 0 };
}

describe("rolesOf", () => {
  const rt = runtime();
  const roles = (p: Principal) => [...rolesOf(rt, p)].sort();

  test("an Entra token's app roles count, and an admin may also read the inventory", () => {
    assert.deepEqual(roles(caller("entra", { roles: ["Inventory.Read"] })), ["Inventory.Read"]);
    assert.deepEqual(roles(caller("entra", { roles: ["Secrets.Admin"] })), [
      "Inventory.Read",
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
      "Secrets.Admin",
    ]);
  });
});

describe("requireRole", () => {
  const rt = runtime();
  const request = (headers: Record<string, string>): BrokerRequest => ({
    method: "GET",
    path: "/inventory",
    query: new URLSearchParams(),
    headers,
    params: {},
    body: new Uint8Array(),
  });

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

import assert from "node:assert/strict";
import { test } from "node:test";
import { RestError } from "@azure/core-rest-pipeline";
import { classifyStatus, isTransientStatus } from "../src/net/upstream-status.js";
import { mapVaultError } from "../src/vault/vault-errors.js";
import { SecretNotFoundError, VaultRejectedError, VaultUnavailableError } from "../src/vault/secret-store.js";

test("each status has one meaning for every upstream", () => {
  const cases: [number | undefined, string][] = [
    [200, "ok"],
    [204, "ok"],
    [400, "refused"],
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [409, "conflict"],
    [408, "transient"],
    [429, "throttled"],
    [500, "transient"],
    [503, "transient"],
    [undefined, "transient"],
  ];
  for (const [status, kind] of cases) assert.equal(classifyStatus(status), kind, String(status));
  assert.equal(isTransientStatus(429), true);
  assert.equal(isTransientStatus(502), true);
  assert.equal(isTransientStatus(404), false);
  assert.equal(isTransientStatus(400), false);
});

test("the vault maps SDK statuses through the shared classifier", () => {
  assert.ok(mapVaultError(new RestError("x", { statusCode: 404 })) instanceof SecretNotFoundError);
  assert.ok(mapVaultError(new RestError("x", { statusCode: 503 })) instanceof VaultUnavailableError);
  assert.ok(
    mapVaultError(new RestError("x", { code: "REQUEST_SEND_ERROR" })) instanceof VaultUnavailableError,
  );
  const rejected = mapVaultError(new RestError("x", { statusCode: 400 }));
  assert.ok(rejected instanceof VaultRejectedError);
});

test("a bug inside the vault client is not reported as the vault being unavailable", () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'value')");
  const mapped = mapVaultError(bug);
  assert.equal(mapped, bug);
  assert.ok(!(mapped instanceof VaultUnavailableError));
});

test("credential and network failures still mean unavailable", () => {
  const noIdentity = Object.assign(new Error("no managed identity"), { name: "CredentialUnavailableError" });
  assert.ok(mapVaultError(noIdentity) instanceof VaultUnavailableError);
  const refused = Object.assign(new Error("connect"), { code: "ECONNREFUSED" });
  assert.ok(mapVaultError(refused) instanceof VaultUnavailableError);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import type { SecretStore } from "../src/vault/secret-store.js";
import { observeWrites } from "../src/vault/write-observed-store.js";

// The wrapper is checked alone: every call, with every argument, reaches the store underneath.
// A dropped `version` on getSecret made the issuer hand out a client secret still pending
// verification (and a failed one be "restored" as itself); rotation.test.ts shows that end to end.
test("observeWrites passes every argument on and reports each write's name", async () => {
  const calls: { method: string; args: unknown[] }[] = [];
  const store = new Proxy({} as SecretStore, {
    get:
      (_target, method: string) =>
      (...args: unknown[]) => {
        calls.push({ method, args });
        return method === "isOwnContinuation" ? true : Promise.resolve(undefined);
      },
  });
  const written: string[] = [];
  const observed = observeWrites(store, (name) => written.push(name));
  const tags = { kind: "client-secret" };
  await observed.getSecret("app", "v1");
  await observed.getSecret("app");
  await observed.getProperties("app");
  await observed.listPage("next");
  observed.isOwnContinuation("next");
  await observed.listVersions("app");
  await observed.getDeletedProperties("app");
  await observed.setSecret("app", "value", { tags });
  await observed.updateProperties("app", "v2", { tags });
  await observed.deleteSecret("app");
  await observed.recoverDeleted("app");
  assert.deepEqual(calls, [
    { method: "getSecret", args: ["app", "v1"] },
    { method: "getSecret", args: ["app", undefined] },
    { method: "getProperties", args: ["app"] },
    { method: "listPage", args: ["next"] },
    { method: "isOwnContinuation", args: ["next"] },
    { method: "listVersions", args: ["app"] },
    { method: "getDeletedProperties", args: ["app"] },
    { method: "setSecret", args: ["app", "value", { tags }] },
    { method: "updateProperties", args: ["app", "v2", { tags }] },
    { method: "deleteSecret", args: ["app"] },
    { method: "recoverDeleted", args: ["app"] },
  ]);
  assert.deepEqual(written, ["app", "app", "app", "app"]);
});

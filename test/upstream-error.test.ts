import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DevOpsError, type DevOpsErrorReason } from "../src/devops/devops-error.js";
import { GraphError } from "../src/graph/graph-error.js";
import { UpstreamError } from "../src/net/upstream-error.js";

// UpstreamError is abstract: its two real subclasses exercise the shared message and `transient`.
describe("UpstreamError", () => {
  test("both clients' errors are upstream errors carrying the operation and the reason", () => {
    const e = new GraphError("addPassword", { kind: "not-found" });
    assert.ok(e instanceof UpstreamError);
    assert.ok(new DevOpsError("get", { kind: "forbidden" }) instanceof UpstreamError);
    assert.equal(e.operation, "addPassword");
    assert.deepEqual(e.reason, { kind: "not-found" });
    assert.equal(e.message, "Microsoft Graph addPassword: not-found");
  });

  test("common kinds: Retry-After is stated when known, a malformed answer names its status", () => {
    assert.equal(
      new DevOpsError("create", { kind: "throttled", retryAfterSeconds: 30 }).message,
      "Azure DevOps create: throttled (retry after 30s)",
    );
    assert.equal(
      new DevOpsError("create", { kind: "unavailable", retryAfterSeconds: undefined }).message,
      "Azure DevOps create: unavailable",
    );
    assert.equal(
      new GraphError("listPasswords", { kind: "malformed", status: 200 }).message,
      "Microsoft Graph listPasswords: unexpected response (status 200)",
    );
  });

  test("a subclass's own words replace the common description", () => {
    assert.equal(
      new DevOpsError("revoke", { kind: "rejected", patTokenError: "invalidScopes", status: 400 }).message,
      "Azure DevOps revoke: rejected (invalidScopes)",
    );
    assert.equal(
      new GraphError("removePassword", { kind: "rejected", code: undefined, status: 409 }).message,
      "Microsoft Graph removePassword: rejected (status 409)",
    );
  });

  test("only throttling and outages are transient", () => {
    const transient = (reason: DevOpsErrorReason) => new DevOpsError("get", reason).transient;
    assert.equal(transient({ kind: "throttled", retryAfterSeconds: undefined }), true);
    assert.equal(transient({ kind: "unavailable", retryAfterSeconds: 5 }), true);
    const lasting: DevOpsErrorReason[] = [
      { kind: "unauthorized" },
      { kind: "forbidden" },
      { kind: "rejected", patTokenError: undefined, status: 400 },
      { kind: "malformed", status: 200 },
    ];
    for (const reason of lasting) {
      assert.equal(transient(reason), false, reason.kind);
    }
  });
});

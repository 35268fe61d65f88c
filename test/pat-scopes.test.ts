import assert from "node:assert/strict";
import { test } from "node:test";
import { PAT_SCOPES } from "../src/inventory/pat-scopes.js";

test("PAT scopes are unique and each looks like an Azure DevOps scope name", () => {
  assert.equal(new Set(PAT_SCOPES).size, PAT_SCOPES.length);
  for (const scope of PAT_SCOPES) {
    assert.match(scope, /^(?:app_token|vso\.[a-z]+(?:_[a-z]+)?)$/, scope);
  }
});

test("the scopes the broker's own PATs need are in the list", () => {
  for (const scope of ["vso.code", "vso.build_execute", "vso.tokens", "vso.packaging"]) {
    assert.ok((PAT_SCOPES as readonly string[]).includes(scope), scope);
  }
});

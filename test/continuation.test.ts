import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodePosition, encodePosition } from "../src/inventory/continuation.js";

const VAULT_PAGE = "https://kv.vault.azure.net/secrets?api-version=7.5&$skiptoken=abc";
const own = (page: string) => page.startsWith("https://kv.vault.azure.net/");
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    // The domain error's code (`reason` on InventoryError before the domain errors got one union of codes).
    const e = error as { code?: unknown; reason?: unknown };
    return e.code ?? e.reason;
  }
  return assert.fail("expected an error");
};
const raw = (json: unknown) => Buffer.from(JSON.stringify(json), "utf8").toString("base64url");

describe("inventory continuation tokens", () => {
  test("a position survives the round trip, page and name each optional", () => {
    for (const position of [
      { page: VAULT_PAGE, after: "pat-feed" },
      { page: undefined, after: "pat-feed" },
      { page: VAULT_PAGE, after: undefined },
      { page: undefined, after: undefined },
    ]) {
      const token = encodePosition(position);
      assert.match(token, /^[A-Za-z0-9_-]+$/, "URL-safe as it is");
      assert.deepEqual(decodePosition(token, own), position);
    }
  });

  test("a page link that is not the vault's own is refused before anything fetches it", () => {
    const token = encodePosition({ page: "https://evil.example/secrets", after: undefined });
    assert.equal(
      codeOf(() => decodePosition(token, own)),
      "invalid_continuation",
    );
  });

  test("garbage, other versions, unknown fields and names the vault cannot hold are refused", () => {
    for (const token of [
      "!!!",
      raw("just a string"),
      raw({ v: 2, a: "pat-feed" }),
      raw({ v: 1, a: "pat-feed", x: 1 }),
      raw({ v: 1, a: "not a name" }),
      raw({ v: 1, p: "" }),
      raw({ v: 1, p: `https://kv.vault.azure.net/${"x".repeat(5000)}` }),
    ]) {
      assert.equal(
        codeOf(() => decodePosition(token, own)),
        "invalid_continuation",
        token,
      );
    }
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ImportRequest } from "../src/inventory/import-request.js";
import { autoRotationFields, autoRotationNeeds, nextTags } from "../src/inventory/import-tags.js";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { KINDS, TAG } from "../src/inventory/managed-credential.js";
import { formatPending, MAX_PENDING, parsePending } from "../src/inventory/pending-revoke.js";

const NOW = Date.parse("2026-11-26T03:00:00Z");
const GRACE = 60 * 60_000;
const id = (n: number) => `${String(n).padStart(8, "0")}-1111-4222-8333-444455556666`;
const keep = { newValue: false, created: false, now: NOW, graceMs: GRACE };

describe("autoRotationNeeds / autoRotationFields", () => {
  test("each kind names the tags automatic rotation needs, and says so in words", () => {
    assert.deepEqual(autoRotationNeeds("pat"), [TAG.organization, TAG.scopes, TAG.lifetimeDays]);
    assert.deepEqual(autoRotationNeeds("client-secret"), [
      TAG.applicationObjectId,
      TAG.clientId,
      TAG.lifetimeDays,
    ]);
    assert.deepEqual(autoRotationNeeds("refresh-token"), [TAG.clientId]);
    for (const kind of KINDS) {
      const words = autoRotationFields(kind);
      for (const tag of autoRotationNeeds(kind)) {
        const field = Object.entries(TAG).find(([, t]) => t === tag)?.[0];
        assert.ok(field !== undefined && words.includes(field), `${kind}: ${field ?? tag}`);
      }
    }
  });
});

describe("nextTags", () => {
  test("metadata only: the request's fields over the current tags, ids lower-cased, scopes deduplicated", () => {
    const request: ImportRequest = {
      kind: "pat",
      owner: "ops@example.com",
      organization: "contoso",
      scopes: ["vso.code", "vso.build", "vso.code"],
      lifetimeDays: 30,
      authorizationId: id(1).toUpperCase(),
    };
    const tags = nextTags(
      { [TAG.owner]: "old@example.com", [TAG.rotation]: "auto", other: "kept" },
      request,
      keep,
    );
    assert.deepEqual(tags, {
      [TAG.managedBy]: "token-broker",
      [TAG.kind]: "pat",
      [TAG.owner]: "ops@example.com",
      [TAG.organization]: "contoso",
      [TAG.scopes]: "vso.code vso.build",
      [TAG.rotation]: "auto",
      [TAG.lifetimeDays]: "30",
      [TAG.authorizationId]: id(1),
      other: "kept",
    });
  });

  test("rotation defaults to manual, and allOrgs never records '*' (global PATs are refused)", () => {
    const tags = nextTags({}, { kind: "pat", allOrgs: true }, keep);
    assert.equal(tags[TAG.rotation], "manual");
    assert.equal(tags[TAG.organization], undefined);
  });

  test("client secrets: application, key and client ids are lower-cased", () => {
    const tags = nextTags(
      {},
      {
        kind: "client-secret",
        applicationObjectId: id(2).toUpperCase(),
        keyId: id(3).toUpperCase(),
        clientId: id(4).toUpperCase(),
      },
      keep,
    );
    assert.equal(tags[TAG.applicationObjectId], id(2));
    assert.equal(tags[TAG.keyId], id(3));
    assert.equal(tags[TAG.clientId], id(4));
  });

  test("refresh tokens: client type defaults to public, a client secret only stays for confidential clients", () => {
    const created = nextTags({}, { kind: "refresh-token", lastRedeemed: "2026-11-01T12:00:00+01:00" }, keep);
    assert.equal(created[TAG.clientType], "public");
    assert.equal(created[TAG.lastRedeemed], "2026-11-01T11:00:00.000Z");

    const confidential = nextTags(
      {},
      { kind: "refresh-token", clientType: "confidential", clientSecretName: "app-secret" },
      keep,
    );
    assert.equal(confidential[TAG.clientSecretName], "app-secret");
    // The current type holds when the request names none.
    assert.equal(nextTags(confidential, { kind: "refresh-token" }, keep)[TAG.clientSecretName], "app-secret");

    const demoted = nextTags(confidential, { kind: "refresh-token", clientType: "public" }, keep);
    assert.equal(demoted[TAG.clientType], "public");
    assert.equal(demoted[TAG.clientSecretName], undefined);
  });

  test("a new value: the old upstream ids wait out the grace and stop describing the credential", () => {
    const base = {
      [TAG.kind]: "client-secret",
      [TAG.keyId]: id(5),
      [TAG.rotationError]: "graph_forbidden",
      [TAG.noticeSentFor]: "v1:expiring-7",
    };
    const tags = nextTags(base, { kind: "client-secret" }, { ...keep, newValue: true });
    assert.deepEqual(parsePending(tags[TAG.pendingRevoke]), [{ id: id(5), after: NOW + GRACE }]);
    assert.equal(tags[TAG.keyId], undefined);
    assert.equal(tags[TAG.rotationError], undefined);
    assert.equal(tags[TAG.noticeSentFor], undefined);
    assert.equal(tags[TAG.rotatedOn], new Date(NOW).toISOString());
  });

  test("a new value with new ids in the request keeps the new ids", () => {
    const tags = nextTags(
      { [TAG.keyId]: id(5) },
      { kind: "client-secret", keyId: id(6) },
      { ...keep, newValue: true },
    );
    assert.equal(tags[TAG.keyId], id(6));
    assert.deepEqual(
      parsePending(tags[TAG.pendingRevoke]).map((p) => p.id),
      [id(5)],
    );
  });

  test("a new value replaces the proven secret handed out while a newer one awaits verification", () => {
    const base = { [TAG.keyId]: id(7), [TAG.verifyPending]: `2026-11-26T02:00:00Z v1 ${id(8)}` };
    const tags = nextTags(base, { kind: "client-secret" }, { ...keep, newValue: true });
    assert.deepEqual(
      parsePending(tags[TAG.pendingRevoke])
        .map((p) => p.id)
        .sort(),
      [id(7), id(8)],
    );
    assert.equal(tags[TAG.verifyPending], undefined);
  });

  test("a first import records no rotation", () => {
    const tags = nextTags({}, { kind: "pat" }, { ...keep, newValue: true, created: true });
    assert.equal(tags[TAG.rotatedOn], undefined);
    assert.equal(tags[TAG.pendingRevoke], undefined);
  });

  test("no room left in pending-revoke: refused, nothing old is forgotten", () => {
    const full = formatPending(
      Array.from({ length: MAX_PENDING }, (_, n) => ({ id: id(10 + n), after: NOW })),
    );
    assert.ok(full !== undefined);
    assert.throws(
      () =>
        nextTags(
          { [TAG.pendingRevoke]: full, [TAG.keyId]: id(20) },
          { kind: "client-secret" },
          { ...keep, newValue: true },
        ),
      (e: unknown) => e instanceof InventoryError && e.code === "pending_revoke_full",
    );
  });
});

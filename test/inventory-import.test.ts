import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { importRequestSchema, type ImportRequest } from "../src/inventory/import-request.js";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { InventoryImport } from "../src/inventory/inventory-import.js";
import { CONTENT_TYPES, TAG } from "../src/inventory/managed-credential.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { RotatorRevoker } from "../src/rotation/rotator-revoker.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DAY = 24 * 3600_000;
const NOW = Date.now();
const tokenCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};
/** Every value handed to the import carries this: it must never come back in an item or an error. */
const CANARY = "CANARY-7f3e9a";
const secretValue = (n: number) => `${CANARY}-secret-${n}`;
/** An 84-character PAT: 76 letters or digits, AZDO, 4 letters or digits (the canary is in it too). */
const patValue = (n: number) =>
  `${CANARY.replace("-", "")}${String(n).padStart(4, "0")}`.padEnd(76, "x") + "AZDOabcd";
const inDays = (days: number) => new Date(NOW + days * DAY).toISOString();

/** Through the request schema, as the HTTP layer does: the tests send only bodies the API would accept. */
const body = (raw: Record<string, unknown>): ImportRequest => importRequestSchema.parse(raw);

const refusal = async (promise: Promise<unknown>): Promise<InventoryError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof InventoryError, `expected an InventoryError, got ${String(error)}`);
    // The refusal names a code (and a field rule), never what was sent.
    assert.ok(!JSON.stringify([error, error.field, error.message, error.stack]).includes(CANARY));
    assert.ok(!String(error).includes(CANARY));
    return error;
  }
  assert.fail("the import was not refused");
};

/** InventoryImport.put over the Key Vault emulator through the real KeyVaultSecretStore. */
describe("InventoryImport against the Key Vault emulator", () => {
  let tls: DevCertificate;
  let kv: KeyVaultEmulator;
  let store: KeyVaultSecretStore;
  let importer: InventoryImport;

  before(async () => {
    tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    store = new KeyVaultSecretStore(kv.url, tokenCredential, { extraCa: tls.cert, maxRetries: 0 });
    importer = new InventoryImport({
      store,
      leases: new ProcessLeaseProvider(),
      revoker: new RotatorRevoker({}),
      checkPat: () => assert.fail("these imports send verify: false"),
      now: () => NOW,
      noticeDays: [7],
    });
  });
  after(() => kv.close());

  test("a new name is created (201) with its tags, content type and expiry; the value is stored, never returned", async () => {
    const result = await importer.put(
      "import-new",
      body({
        kind: "client-secret",
        value: secretValue(1),
        expiresOn: inDays(30),
        owner: "team-a@contoso.com",
      }),
      { recover: false },
    );
    assert.equal(result.created, true);
    assert.equal(result.item.name, "import-new");
    assert.equal(result.item.kind, "client-secret");
    assert.equal(result.item.owner, "team-a@contoso.com");
    assert.equal(result.item.status, "active");
    assert.equal(result.item.expiresOn, inDays(30).replace(/\.\d{3}Z$/, ".000Z"));
    assert.ok(!JSON.stringify(result).includes(CANARY));
    const stored = await store.getSecret("import-new");
    assert.equal(stored.value, secretValue(1));
    assert.equal(stored.contentType, CONTENT_TYPES["client-secret"]);
    assert.equal(stored.tags[TAG.managedBy], "token-broker");
    assert.equal(stored.tags[TAG.kind], "client-secret");
    assert.ok(!JSON.stringify(stored.tags).includes(CANARY));
  });

  test("an existing credential is updated (200): metadata alone keeps the version, a new value adds one", async () => {
    const first = await importer.put(
      "import-update",
      body({
        kind: "pat",
        value: patValue(1),
        expiresOn: inDays(30),
        owner: "team-a@contoso.com",
        organization: "contoso",
        verify: false,
      }),
      { recover: false },
    );
    assert.equal(first.created, true);
    const before = await store.getProperties("import-update");

    const metadata = await importer.put("import-update", body({ kind: "pat", owner: "team-b@contoso.com" }), {
      recover: false,
    });
    assert.equal(metadata.created, false);
    assert.equal(metadata.item.owner, "team-b@contoso.com");
    assert.equal(metadata.item.organization, "contoso");
    const afterMetadata = await store.getSecret("import-update");
    assert.equal(afterMetadata.version, before.version);
    assert.equal(afterMetadata.value, patValue(1));
    assert.equal((await store.listVersions("import-update")).length, 1);

    const revalued = await importer.put(
      "import-update",
      body({ kind: "pat", value: patValue(2), expiresOn: inDays(60), verify: false }),
      { recover: false },
    );
    assert.equal(revalued.created, false);
    assert.equal(revalued.item.owner, "team-b@contoso.com");
    assert.ok(!JSON.stringify([metadata, revalued]).includes(CANARY));
    const afterValue = await store.getSecret("import-update");
    assert.notEqual(afterValue.version, before.version);
    assert.equal(afterValue.value, patValue(2));
    assert.equal(afterValue.expiresOn?.toISOString(), inDays(60).replace(/\.\d{3}Z$/, ".000Z"));
    assert.equal((await store.listVersions("import-update")).length, 2);
  });

  test("a secret the broker does not manage is name_in_use, live or soft-deleted, and stays untouched", async () => {
    await store.setSecret("foreign-live", "someone-elses", { tags: { [TAG.kind]: "pat" } });
    const live = await refusal(
      importer.put(
        "foreign-live",
        body({
          kind: "client-secret",
          value: secretValue(2),
          expiresOn: inDays(30),
          owner: "team-a@contoso.com",
        }),
        { recover: true },
      ),
    );
    assert.equal(live.code, "name_in_use");
    const untouched = await store.getSecret("foreign-live");
    assert.equal(untouched.value, "someone-elses");
    assert.deepEqual(untouched.tags, { [TAG.kind]: "pat" });

    await store.setSecret("foreign-deleted", "someone-elses", { tags: { owner: "x" } });
    await store.deleteSecret("foreign-deleted");
    const deleted = await refusal(
      importer.put(
        "foreign-deleted",
        body({
          kind: "client-secret",
          value: secretValue(3),
          expiresOn: inDays(30),
          owner: "team-a@contoso.com",
        }),
        { recover: true },
      ),
    );
    assert.equal(deleted.code, "name_in_use");
    assert.ok((await store.getDeletedProperties("foreign-deleted")) !== undefined, "not recovered");
  });

  test("a credential of another kind is kind_mismatch and keeps its value", async () => {
    await importer.put(
      "import-kind",
      body({
        kind: "client-secret",
        value: secretValue(4),
        expiresOn: inDays(30),
        owner: "team-a@contoso.com",
      }),
      { recover: false },
    );
    const error = await refusal(
      importer.put("import-kind", body({ kind: "pat", value: patValue(5), expiresOn: inDays(30) }), {
        recover: false,
      }),
    );
    assert.equal(error.code, "kind_mismatch");
    const stored = await store.getSecret("import-kind");
    assert.equal(stored.value, secretValue(4));
    assert.equal(stored.tags[TAG.kind], "client-secret");
  });

  test("a soft-deleted credential is credential_deleted unless recovered; recovery checks the kind first", async () => {
    await importer.put(
      "import-deleted",
      body({
        kind: "client-secret",
        value: secretValue(6),
        expiresOn: inDays(30),
        owner: "team-a@contoso.com",
      }),
      { recover: false },
    );
    await store.deleteSecret("import-deleted");
    const refused = await refusal(
      importer.put("import-deleted", body({ kind: "client-secret", owner: "team-b@contoso.com" }), {
        recover: false,
      }),
    );
    assert.equal(refused.code, "credential_deleted");
    assert.ok((await store.getDeletedProperties("import-deleted")) !== undefined, "still deleted");

    const mismatch = await refusal(
      importer.put("import-deleted", body({ kind: "pat", value: patValue(7), expiresOn: inDays(30) }), {
        recover: true,
      }),
    );
    assert.equal(mismatch.code, "kind_mismatch");
    assert.ok(
      (await store.getDeletedProperties("import-deleted")) !== undefined,
      "not recovered for another kind",
    );

    const recovered = await importer.put(
      "import-deleted",
      body({ kind: "client-secret", owner: "team-b@contoso.com" }),
      { recover: true },
    );
    assert.equal(recovered.created, false);
    assert.equal(recovered.item.owner, "team-b@contoso.com");
    assert.equal(await store.getDeletedProperties("import-deleted"), undefined);
    const stored = await store.getSecret("import-deleted");
    assert.equal(stored.value, secretValue(6));
    assert.equal(stored.tags[TAG.owner], "team-b@contoso.com");
  });

  test("field rules are refused with the field and rule, never the value", async () => {
    const noOwner = await refusal(
      importer.put(
        "import-rules",
        body({ kind: "client-secret", value: secretValue(8), expiresOn: inDays(30) }),
        {
          recover: false,
        },
      ),
    );
    assert.equal(noOwner.code, "invalid_field");
    assert.equal(noOwner.field?.field, "owner");
    const past = await refusal(
      importer.put(
        "import-rules",
        body({
          kind: "client-secret",
          value: secretValue(8),
          expiresOn: inDays(-1),
          owner: "team-a@contoso.com",
        }),
        { recover: false },
      ),
    );
    assert.equal(past.field?.field, "expiresOn");
    // Without a creator the broker cannot make the credential itself: a value is required.
    const noValue = await refusal(
      importer.put("import-rules", body({ kind: "client-secret", owner: "team-a@contoso.com" }), {
        recover: false,
      }),
    );
    assert.equal(noValue.field?.field, "value");
    await assert.rejects(store.getProperties("import-rules"), "nothing was written");
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { createDevCertificate } from "../src/local/dev-certificate.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { TAG } from "../src/inventory/managed-credential.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { createLogger } from "../src/log.js";
import { checkGrant } from "../src/rotation/grant-check.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import type { RotationContext, RotationReport } from "../src/rotation/rotation-types.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const vaultCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};
const emptyReport = (): RotationReport => ({
  rotated: [],
  pending: [],
  revoked: [],
  orphansRevoked: [],
  skipped: [],
  failed: [],
  checked: 0,
});

/**
 * checkGrant() over the Key Vault emulator: a grant that no longer redeems is reported and marked
 * `rotation-error` with its code; one that redeems again has the mark removed. The probe is the
 * option the runtime fills from the rotator identity; here it is the test's, to choose its answer.
 */
describe("grant check against the Key Vault emulator", () => {
  let kv: KeyVaultEmulator;
  let store: KeyVaultSecretStore;
  let probe: (name: string) => Promise<void> = () => Promise.resolve();
  const probed: string[] = [];
  const logLines: string[] = [];
  let ctx: RotationContext;
  const grantTags = (extra: Record<string, string> = {}) => ({
    [TAG.managedBy]: "token-broker",
    [TAG.kind]: "refresh-token",
    [TAG.owner]: "team-a@contoso.com",
    ...extra,
  });

  before(async () => {
    const tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    store = new KeyVaultSecretStore(kv.url, vaultCredential, { extraCa: tls.cert, maxRetries: 0 });
    ctx = {
      step: () => Promise.resolve(),
      options: {
        store,
        leases: new ProcessLeaseProvider(),
        rotators: {},
        log: createLogger((line) => logLines.push(line)),
        now: Date.now,
        rotateBeforeDays: 14,
        revokeGraceMinutes: 60,
        secretVerifyMinutes: 10,
        probeGrant: (name) => {
          probed.push(name);
          return probe(name);
        },
      },
    };
  });
  after(async () => {
    await kv.close();
  });

  test("a grant that fails is reported and marked; once it redeems again the mark goes", async () => {
    await store.setSecret("grant-a", "refresh-value-a", { tags: grantTags() });
    probe = () => Promise.reject(new RotationError("rotator_grant_grant_refused", false));
    const failing = emptyReport();
    await checkGrant(ctx, await store.getProperties("grant-a"), failing);
    assert.deepEqual(probed, ["grant-a"]);
    assert.deepEqual(failing.failed, [{ name: "grant-a", reason: "rotator_grant_grant_refused" }]);
    assert.equal(
      (await store.getProperties("grant-a")).tags[TAG.rotationError],
      "rotator_grant_grant_refused",
    );

    // Another reason replaces the mark.
    probe = () => Promise.reject(new RotationError("rotator_grant_no_grant", false));
    const other = emptyReport();
    await checkGrant(ctx, await store.getProperties("grant-a"), other);
    assert.deepEqual(other.failed, [{ name: "grant-a", reason: "rotator_grant_no_grant" }]);
    assert.equal((await store.getProperties("grant-a")).tags[TAG.rotationError], "rotator_grant_no_grant");

    probe = () => Promise.resolve();
    const healed = emptyReport();
    await checkGrant(ctx, await store.getProperties("grant-a"), healed);
    assert.deepEqual(healed.failed, []);
    const after = await store.getProperties("grant-a");
    assert.equal(after.tags[TAG.rotationError], undefined);
    assert.equal(after.tags[TAG.owner], "team-a@contoso.com", "the other tags stay");
    assert.equal((await store.getSecret("grant-a")).value, "refresh-value-a", "the value is untouched");
    assert.ok(!logLines.join("\n").includes("refresh-value-a"), "no value is logged");
  });

  test("a failure that is not a RotationError is reported but not marked", async () => {
    await store.setSecret("grant-b", "refresh-value-b", { tags: grantTags() });
    probe = () => Promise.reject(new Error("vault down"));
    const report = emptyReport();
    await checkGrant(ctx, await store.getProperties("grant-b"), report);
    assert.deepEqual(report.failed, [{ name: "grant-b", reason: "vault_error" }]);
    assert.equal((await store.getProperties("grant-b")).tags[TAG.rotationError], undefined);
  });

  test("without a probe nothing is checked", async () => {
    await store.setSecret("grant-c", "refresh-value-c", {
      tags: grantTags({ [TAG.rotationError]: "rotator_grant_no_grant" }),
    });
    const options = { ...ctx.options };
    Reflect.deleteProperty(options, "probeGrant");
    const report = emptyReport();
    await checkGrant({ ...ctx, options }, await store.getProperties("grant-c"), report);
    assert.deepEqual(report.failed, []);
    assert.equal((await store.getProperties("grant-c")).tags[TAG.rotationError], "rotator_grant_no_grant");
  });
});

import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import {
  DEV_CLIENTS,
  DEV_DEVOPS_ORGANIZATIONS,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
} from "../src/local/dev-identities.js";
import { startAzureDevOpsEmulator, type AzureDevOpsEmulator } from "../src/local/emulators/azure-devops.js";
import { startEntraEmulator, type EntraEmulator } from "../src/local/emulators/entra.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { DevSigner } from "../src/local/emulators/signer.js";
import { RotatorIdentity } from "../src/devops/rotator-identity.js";
import { PatLifecycleClient } from "../src/devops/pat-lifecycle-client.js";
import { TAG } from "../src/inventory/managed-credential.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { PatRotator } from "../src/rotation/pat-rotator.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DEPLOYMENT = "unittest";
const DAY = 24 * 3600_000;
const tokenCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};

async function rotationError(promise: Promise<unknown>): Promise<RotationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RotationError, `expected a RotationError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

/**
 * PatRotator over the Azure DevOps emulator, acting as the user of a real grant: a refresh token
 * in a Key Vault emulator, redeemed at the Entra emulator by the real RotatorIdentity.
 */
describe("PatRotator against the Azure DevOps emulator", () => {
  let tls: DevCertificate;
  let entra: EntraEmulator;
  let ado: AzureDevOpsEmulator;
  let kv: KeyVaultEmulator;
  let store: KeyVaultSecretStore;
  let send: HttpSend;
  let rotator: PatRotator;
  const steps: string[] = [];
  const step = (s: string, name: string) => {
    steps.push(`${s}:${name}`);
    return Promise.resolve();
  };
  const tags = (extra: Record<string, string> = {}) => ({
    [TAG.managedBy]: "token-broker",
    [TAG.kind]: "pat",
    [TAG.organization]: "contoso",
    [TAG.scopes]: "vso.code vso.packaging",
    [TAG.lifetimeDays]: "30",
    ...extra,
  });
  const rotatorWith = (identity: RotatorIdentity) =>
    new PatRotator({
      deploymentId: DEPLOYMENT,
      identity,
      pats: (grant) =>
        new PatLifecycleClient({ baseUrl: ado.url, accessToken: () => identity.accessToken(grant), send }),
      devopsUrl: ado.url,
      send,
      now: Date.now,
      verifyAttempts: 1,
      verifyDelayMs: 1,
    });
  const identityOver = (s: KeyVaultSecretStore) =>
    new RotatorIdentity({ store: s, authorityHost: entra.url, tenantId: TENANT, send });

  before(async () => {
    tls = await createDevCertificate();
    const signer = await DevSigner.create();
    send = httpSender({ extraCa: tls.cert, devStack: true });
    entra = await startEntraEmulator({
      tls,
      signer,
      tenantId: TENANT,
      brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
      clients: DEV_CLIENTS,
      users: [DEV_USER],
      publicClients: [DEV_PUBLIC_CLIENT],
    });
    ado = await startAzureDevOpsEmulator({
      tls,
      signer,
      tenantId: TENANT,
      organizations: DEV_DEVOPS_ORGANIZATIONS,
    });
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    store = new KeyVaultSecretStore(kv.url, tokenCredential, { extraCa: tls.cert, maxRetries: 0 });
    // The user's grant, for contoso only: fabrikam has none.
    await store.setSecret(
      "grant-contoso",
      entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, "x"),
      {
        tags: {
          [TAG.managedBy]: "token-broker",
          [TAG.kind]: "refresh-token",
          [TAG.organization]: "contoso",
          [TAG.clientId]: DEV_PUBLIC_CLIENT.clientId,
        },
      },
    );
    rotator = rotatorWith(identityOver(store));
  });
  beforeEach(() => {
    steps.length = 0;
    ado.clearFaults();
  });
  after(async () => {
    await Promise.all([ado.close(), entra.close(), kv.close()]);
  });

  test("create: a marked, single-organization PAT with the recorded scopes and lifetime, proven", async () => {
    const before = Date.now();
    const fresh = await rotator.create("build-pat", tags(), step);
    assert.deepEqual(steps, ["created:build-pat", "verified:build-pat"]);
    const pat = ado.pats("contoso").find((p) => p.authorizationId === fresh.upstreamId);
    assert.ok(pat !== undefined, "the PAT exists upstream");
    assert.equal(pat.status, "active");
    assert.equal(pat.ownerObjectId, DEV_USER.objectId);
    assert.equal(pat.scope, "vso.code vso.packaging");
    assert.match(pat.displayName, new RegExp(`:${DEPLOYMENT}:build-pat:`));
    const lifetime = fresh.expiresOn.getTime() - before;
    assert.ok(lifetime > 29.9 * DAY && lifetime < 30.1 * DAY, `lifetime ${lifetime}`);
    assert.ok(fresh.value.length > 20);
    assert.equal(fresh.pending, undefined);
    // marked finds it under the credential's name.
    const marked = await rotator.marked([
      {
        name: "build-pat",
        version: "v",
        enabled: true,
        contentType: undefined,
        expiresOn: undefined,
        createdOn: undefined,
        updatedOn: undefined,
        tags: tags(),
      },
    ]);
    assert.ok(marked.some((m) => m.credential === "build-pat" && m.upstreamId === fresh.upstreamId));
  });

  test("revoke: revoked upstream (again idempotently); not-found for an id that never existed", async () => {
    const fresh = await rotator.create("rev-pat", tags(), step);
    assert.equal(await rotator.revoke(tags(), fresh.upstreamId), "revoked");
    assert.equal(ado.pats("contoso").find((p) => p.authorizationId === fresh.upstreamId)?.status, "revoked");
    assert.equal(await rotator.revoke(tags(), "00000000-0000-4000-8000-00000000dead"), "not-found");
    // Revoking a revoked PAT succeeds upstream (idempotent): still "revoked".
    assert.equal(await rotator.revoke(tags(), fresh.upstreamId), "revoked");
  });

  test("settings it refuses before any call upstream", async () => {
    const count = ado.stats().requests;
    const codes = await Promise.all(
      [
        tags({ [TAG.scopes]: "vso.code app_token" }),
        tags({ [TAG.organization]: "*" }),
        tags({ [TAG.scopes]: "" }),
        tags({ [TAG.lifetimeDays]: "" }),
      ].map(async (t) => (await rotationError(rotator.create("x", t, step))).code),
    );
    assert.deepEqual(codes, [
      "full_scope_refused",
      "missing_rotation_settings",
      "missing_rotation_settings",
      "missing_rotation_settings",
    ]);
    assert.equal(
      (await rotationError(rotator.revoke(tags({ [TAG.organization]: "*" }), "id"))).code,
      "no_organization",
    );
    assert.equal(ado.stats().requests, count);
  });

  test("an organization without a grant: no_rotator_grant, not transient", async () => {
    const error = await rotationError(rotator.create("x", tags({ [TAG.organization]: "fabrikam" }), step));
    assert.equal(error.code, "no_rotator_grant");
    assert.equal(error.transient, false);
  });

  test("upstream failures map to short codes, transient or not", async () => {
    ado.injectFault({ status: 503, count: 5, operation: "create" });
    const unavailable = await rotationError(rotator.create("x", tags(), step));
    assert.equal(unavailable.code, "devops_create_unavailable");
    assert.equal(unavailable.transient, true);
    ado.clearFaults();
    ado.injectFault({ status: 403, count: 5, operation: "revoke" });
    const forbidden = await rotationError(rotator.revoke(tags(), "00000000-0000-4000-8000-00000000beef"));
    assert.equal(forbidden.code, "devops_revoke_forbidden");
    assert.equal(forbidden.transient, false);
    assert.deepEqual(steps, []);
  });

  test("a grant Entra refuses: rotator_grant_grant_refused, not transient", async () => {
    await store.setSecret("grant-fabrikam", "not-a-refresh-token", {
      tags: {
        [TAG.managedBy]: "token-broker",
        [TAG.kind]: "refresh-token",
        [TAG.organization]: "fabrikam",
        [TAG.clientId]: DEV_PUBLIC_CLIENT.clientId,
      },
    });
    const fresh = rotatorWith(identityOver(store));
    const error = await rotationError(fresh.create("x", tags({ [TAG.organization]: "fabrikam" }), step));
    assert.equal(error.code, "rotator_grant_grant_refused");
    assert.equal(error.transient, false);
    assert.ok(!error.message.includes("not-a-refresh-token"));
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { createDevCertificate } from "../src/local/dev-certificate.js";
import {
  DEV_CLIENTS,
  DEV_DOWNSTREAM_APP,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
  GRAPH_OWNED_BY_ROLE,
} from "../src/local/dev-identities.js";
import { startEntraEmulator, type EntraEmulator } from "../src/local/emulators/entra.js";
import { passwordsReachEntra, startGraphEmulator, type GraphEmulator } from "../src/local/emulators/graph.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { DevSigner } from "../src/local/emulators/signer.js";
import { randomClientSecret } from "../src/local/sample-data.js";
import { azureIdentityMinter } from "../src/entra/azure-identity-minter.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { TAG } from "../src/inventory/managed-credential.js";
import { parsePending } from "../src/inventory/pending-revoke.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { createLogger } from "../src/log.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { ClientSecretRotator } from "../src/rotation/client-secret-rotator.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";
import { sweep } from "../src/rotation/rotation-sweep.js";
import type { RotationContext } from "../src/rotation/rotation-types.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DEPLOYMENT = "unittest";
const SEEDED_KEY = "a1b2c3d4-0000-4000-8000-00000000c0de";
const DAY = 24 * 3600_000;
const MINUTE = 60_000;
const VERIFY_MINUTES = 10;
const GRACE_MINUTES = 60;
const GRAPH = "https://graph.microsoft.com";
const vaultCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};

/**
 * sweep() over the Key Vault emulator (real KeyVaultSecretStore and its paging) with a real
 * ClientSecretRotator against the Graph and Entra emulators: what is due rotates, what waited out
 * its grace is revoked, the rest is left alone, and a held lease skips the sweep.
 */
describe("rotation sweep against the Key Vault, Graph and Entra emulators", () => {
  let clock = Date.now();
  let leases: ProcessLeaseProvider;
  let kv: KeyVaultEmulator;
  let store: KeyVaultSecretStore;
  let entra: EntraEmulator;
  let graph: GraphEmulator;
  let send: HttpSend;
  let rotator: ClientSecretRotator;
  let ctx: RotationContext;
  const admin = DEV_CLIENTS.find((c) => c.name === "dev-admin");
  const seededSecret = randomClientSecret();
  const steps: string[] = [];
  const logLines: string[] = [];
  const step = (s: string, name: string) => {
    steps.push(`${s}:${name}`);
    return Promise.resolve();
  };
  const tags = (extra: Record<string, string> = {}) => ({
    [TAG.managedBy]: "token-broker",
    [TAG.kind]: "client-secret",
    [TAG.owner]: "team-a@contoso.com",
    [TAG.applicationObjectId]: DEV_DOWNSTREAM_APP.objectId,
    [TAG.clientId]: DEV_DOWNSTREAM_APP.clientId,
    [TAG.lifetimeDays]: "90",
    ...extra,
  });
  const keyIds = () => graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId);

  before(async () => {
    const tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    store = new KeyVaultSecretStore(kv.url, vaultCredential, { extraCa: tls.cert, maxRetries: 0 });
    const signer = await DevSigner.create();
    send = httpSender({ extraCa: tls.cert, devStack: true });
    entra = await startEntraEmulator({
      tls,
      signer,
      tenantId: TENANT,
      brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
      // dev-admin stands in for the broker: Graph's app role is in its Graph tokens.
      clients: [
        ...DEV_CLIENTS.map((c) =>
          c.name === "dev-admin" ? { ...c, resourceRoles: { [GRAPH]: [GRAPH_OWNED_BY_ROLE] } } : c,
        ),
        { ...DEV_DOWNSTREAM_APP, brokerRoles: [] },
      ],
      users: [DEV_USER],
      publicClients: [DEV_PUBLIC_CLIENT],
    });
    entra.addClientSecret(DEV_DOWNSTREAM_APP.clientId, { keyId: SEEDED_KEY, secret: seededSecret });
    graph = await startGraphEmulator({
      tls,
      signer,
      tenantId: TENANT,
      applications: [
        {
          objectId: DEV_DOWNSTREAM_APP.objectId,
          appId: DEV_DOWNSTREAM_APP.clientId,
          displayName: "downstream",
          owners: [admin?.objectId ?? ""],
          passwords: [
            { keyId: SEEDED_KEY, secret: seededSecret, endDateTime: new Date(Date.now() + 180 * DAY) },
          ],
        },
      ],
      propagationDelayMs: 0,
      ...passwordsReachEntra(entra),
    });
    const minter = azureIdentityMinter({ authorityHost: entra.url, extraCa: tls.cert });
    const credential: TokenCredential = minter.clientSecret(
      TENANT,
      admin?.clientId ?? "",
      admin?.secret ?? "",
      {
        maxRetries: 0,
      },
    );
    rotator = new ClientSecretRotator({
      deploymentId: DEPLOYMENT,
      passwords: new ApplicationPasswordsClient({ baseUrl: graph.url, credential, send }),
      tenantId: TENANT,
      minter,
      verifyScope: `${GRAPH}/.default`,
      now: Date.now,
      retryDelaysMs: [],
    });
    leases = new ProcessLeaseProvider();
    ctx = {
      step,
      options: {
        store,
        leases,
        rotators: { "client-secret": rotator },
        log: createLogger((line) => logLines.push(line)),
        now: () => clock,
        rotateBeforeDays: 14,
        revokeGraceMinutes: GRACE_MINUTES,
        secretVerifyMinutes: VERIFY_MINUTES,
        // Orphan repair is not what these tests look at: no password here is old enough for it.
        orphanMinAgeMs: 365 * DAY,
      },
    };
  });
  after(async () => {
    await Promise.all([graph.close(), entra.close(), kv.close()]);
  });

  test("rotates what is due, leaves the rest, then revokes the replaced password after its grace", async () => {
    const old = await rotator.create("sweep-due", tags(), step);
    await store.setSecret("sweep-due", old.value, {
      expiresOn: new Date(clock + 3 * DAY),
      tags: tags({ [TAG.keyId]: old.upstreamId, [TAG.rotation]: "auto" }),
    });
    // Not due: auto but expiring after BROKER_ROTATE_BEFORE_DAYS; manual; not the broker's.
    await store.setSecret("sweep-later", seededSecret, {
      expiresOn: new Date(clock + 60 * DAY),
      tags: tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotation]: "auto" }),
    });
    await store.setSecret("sweep-manual", seededSecret, {
      expiresOn: new Date(clock + 3 * DAY),
      tags: tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotation]: "manual" }),
    });
    await store.setSecret("sweep-foreign", "not-ours", {
      expiresOn: new Date(clock + 1 * DAY),
      tags: { [TAG.kind]: "client-secret", [TAG.rotation]: "auto" },
    });
    const untouched = await Promise.all(
      ["sweep-later", "sweep-manual", "sweep-foreign"].map((n) => store.getProperties(n)),
    );

    const first = await sweep(ctx, "route");
    assert.ok(first.acquired);
    assert.equal(first.value.checked, 3);
    assert.deepEqual(first.value.failed, []);
    assert.deepEqual(
      first.value.rotated.map((r) => r.name),
      ["sweep-due"],
    );
    const rotated = await store.getSecret("sweep-due");
    assert.equal(rotated.version, first.value.rotated[0]?.version);
    assert.notEqual(rotated.value, old.value);
    assert.notEqual(rotated.tags[TAG.keyId], old.upstreamId);
    assert.ok(keyIds().includes(rotated.tags[TAG.keyId] ?? ""), "the new password exists upstream");
    assert.deepEqual(
      parsePending(rotated.tags[TAG.pendingRevoke]).map((p) => p.id),
      [old.upstreamId],
    );
    assert.ok(keyIds().includes(old.upstreamId), "the replaced password lives through its grace");
    for (const before of untouched) {
      assert.equal((await store.getProperties(before.name)).version, before.version, before.name);
    }

    // Within the grace: nothing to do.
    const second = await sweep(ctx, "timer");
    assert.ok(second.acquired);
    assert.deepEqual(second.value.revoked, []);
    assert.deepEqual(second.value.rotated, []);
    assert.ok(keyIds().includes(old.upstreamId));

    clock += (GRACE_MINUTES + 1) * MINUTE;
    const third = await sweep(ctx, "timer");
    assert.ok(third.acquired);
    assert.deepEqual(third.value.revoked, [
      { name: "sweep-due", upstreamId: old.upstreamId, outcome: "revoked" },
    ]);
    assert.deepEqual(third.value.rotated, []);
    assert.ok(!keyIds().includes(old.upstreamId), "removed upstream");
    assert.ok(keyIds().includes(SEEDED_KEY), "a password not replaced stays");
    const after = await store.getProperties("sweep-due");
    assert.equal(after.tags[TAG.pendingRevoke], undefined);
    const log = logLines.join("\n");
    assert.ok(!log.includes(old.value) && !log.includes(rotated.value), "no secret value is logged");
  });

  test("a sweep while another holds the rotation lease does nothing", async () => {
    const held = await leases.tryAcquire(ROTATION_LEASE);
    assert.ok(held !== undefined);
    try {
      const outcome = await sweep(ctx, "timer");
      assert.equal(outcome.acquired, false);
    } finally {
      await held.release();
    }
    assert.ok((await sweep(ctx, "timer")).acquired);
  });
});

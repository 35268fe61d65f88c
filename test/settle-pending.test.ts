import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
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
import { formatVerifyPending } from "../src/inventory/verify-pending.js";
import { ProcessLeaseProvider, type Lease } from "../src/lease/lease.js";
import { createLogger } from "../src/log.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { ClientSecretRotator } from "../src/rotation/client-secret-rotator.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import type { RotationContext } from "../src/rotation/rotation-types.js";
import { settle } from "../src/rotation/settle-pending.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DEPLOYMENT = "unittest";
const SEEDED_KEY = "a1b2c3d4-0000-4000-8000-00000000c0de";
const DAY = 24 * 3600_000;
const MINUTE = 60_000;
const VERIFY_MINUTES = 10;
const GRAPH = "https://graph.microsoft.com";
const vaultCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};
const lease: Lease = { lost: () => false, release: () => Promise.resolve() };

/**
 * settle() over the Key Vault emulator (real KeyVaultSecretStore) and a real ClientSecretRotator
 * against the Graph and Entra emulators: promote, keep pending, or discard and restore.
 */
describe("settle (pending verification) against the Key Vault, Graph and Entra emulators", () => {
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

  /** v1 holds the proven (seeded) secret; v2 a freshly created one, pending verification since `ageMs` ago. */
  const pendingCredential = async (name: string, ageMs: number) => {
    const proven = await store.setSecret(name, seededSecret, {
      expiresOn: new Date(Date.now() + 180 * DAY),
      tags: tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotatedOn]: "2026-01-01T00:00:00Z" }),
    });
    const fresh = await rotator.create(name, tags(), step);
    await store.setSecret(name, fresh.value, {
      expiresOn: fresh.expiresOn,
      tags: tags({
        [TAG.keyId]: fresh.upstreamId,
        [TAG.verifyPending]: formatVerifyPending({
          since: Date.now() - ageMs,
          proven: { version: proven.version, id: SEEDED_KEY },
        }),
      }),
    });
    steps.length = 0;
    return { proven, fresh, current: await store.getProperties(name) };
  };

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
    ctx = {
      step,
      options: {
        store,
        leases: new ProcessLeaseProvider(),
        rotators: { "client-secret": rotator },
        log: createLogger((line) => logLines.push(line)),
        now: Date.now,
        rotateBeforeDays: 14,
        revokeGraceMinutes: 60,
        secretVerifyMinutes: VERIFY_MINUTES,
      },
    };
  });
  beforeEach(() => {
    steps.length = 0;
    graph.setPropagationDelay(0);
  });
  after(async () => {
    await Promise.all([graph.close(), entra.close(), kv.close()]);
  });

  test("accepted: the pending version is promoted and the proven one waits out the grace in pending-revoke", async () => {
    const { fresh, current } = await pendingCredential("settle-ok", MINUTE);
    const outcome = await settle(ctx, current, rotator, lease);
    assert.deepEqual(outcome, { name: "settle-ok", version: current.version, status: "rotated" });
    assert.deepEqual(steps, ["promoted:settle-ok"]);
    const after = await store.getSecret("settle-ok");
    assert.equal(after.version, current.version, "promoted in place, no new version");
    assert.equal(after.value, fresh.value);
    assert.equal(after.tags[TAG.verifyPending], undefined);
    assert.deepEqual(
      parsePending(after.tags[TAG.pendingRevoke]).map((p) => p.id),
      [SEEDED_KEY],
    );
    assert.ok(keyIds().includes(SEEDED_KEY), "the proven password is not removed before the grace");
    assert.ok(!logLines.join("\n").includes(fresh.value));
  });

  test("refused within the window: it stays pending, nothing is written or removed", async () => {
    graph.setPropagationDelay(30 * MINUTE);
    const { fresh, current } = await pendingCredential("settle-wait", MINUTE);
    const outcome = await settle(ctx, current, rotator, lease);
    assert.equal(outcome?.status, "pending-verification");
    assert.equal(outcome.version, current.version);
    assert.ok(keyIds().includes(fresh.upstreamId), "not removed upstream");
    assert.deepEqual(steps, []);
    const after = await store.getProperties("settle-wait");
    assert.equal(after.version, current.version);
    assert.deepEqual(after.tags, current.tags);
  });

  test("refused after the window: removed upstream, the proven secret restored as current, failure reported", async () => {
    graph.setPropagationDelay(30 * MINUTE);
    const { proven, fresh, current } = await pendingCredential("settle-fail", (VERIFY_MINUTES + 1) * MINUTE);
    await assert.rejects(settle(ctx, current, rotator, lease), (error: unknown) => {
      assert.ok(error instanceof RotationError);
      assert.equal(error.code, "new_secret_not_accepted");
      return true;
    });
    assert.deepEqual(steps, ["discarded:settle-fail", "restored:settle-fail"]);
    assert.ok(!keyIds().includes(fresh.upstreamId), "the refused password is removed upstream");
    assert.ok(keyIds().includes(SEEDED_KEY), "the proven password stays");
    const after = await store.getSecret("settle-fail");
    assert.notEqual(after.version, current.version);
    assert.notEqual(after.version, proven.version);
    assert.equal(after.value, seededSecret);
    assert.equal(after.tags[TAG.keyId], SEEDED_KEY);
    assert.equal(after.tags[TAG.rotatedOn], "2026-01-01T00:00:00Z");
    assert.equal(after.tags[TAG.rotationError], "new_secret_not_accepted");
    assert.equal(after.tags[TAG.verifyPending], undefined);
    assert.equal(after.tags[TAG.owner], "team-a@contoso.com");
    const log = logLines.join("\n");
    assert.ok(!log.includes(fresh.value) && !log.includes(seededSecret), "no secret value is logged");
  });

  test("a version not pending, or no longer the current one, is left alone", async () => {
    const plain = await store.setSecret("settle-plain", seededSecret, {
      tags: tags({ [TAG.keyId]: SEEDED_KEY }),
    });
    assert.equal(await settle(ctx, await store.getProperties("settle-plain"), rotator, lease), undefined);
    const { current } = await pendingCredential("settle-stale", MINUTE);
    // An import wrote a new version in between: that one is current, the next pass looks at it.
    await store.setSecret("settle-stale", seededSecret, { tags: tags({ [TAG.keyId]: SEEDED_KEY }) });
    assert.equal(await settle(ctx, current, rotator, lease), undefined);
    assert.deepEqual(steps, []);
    assert.equal((await store.getProperties("settle-plain")).version, plain.version);
  });
});

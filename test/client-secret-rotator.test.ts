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
import { DevSigner } from "../src/local/emulators/signer.js";
import { randomClientSecret } from "../src/local/sample-data.js";
import { azureIdentityMinter } from "../src/entra/azure-identity-minter.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { TAG } from "../src/inventory/managed-credential.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import {
  ClientSecretRotator,
  type ClientSecretRotatorOptions,
} from "../src/rotation/client-secret-rotator.js";
import { RotationError } from "../src/rotation/rotation-error.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DEPLOYMENT = "unittest";
const SEEDED_KEY = "a1b2c3d4-0000-4000-8000-00000000c0de";
const DAY = 24 * 3600_000;
const GRAPH = "https://graph.microsoft.com";

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
 * ClientSecretRotator over the Graph emulator (addPassword / removePassword), its new secrets
 * verified with real client-credentials requests at the Entra emulator through the real minter.
 */
describe("ClientSecretRotator against the Graph and Entra emulators", () => {
  let entra: EntraEmulator;
  let graph: GraphEmulator;
  let send: HttpSend;
  let base: ClientSecretRotatorOptions;
  let rotator: ClientSecretRotator;
  const admin = DEV_CLIENTS.find((c) => c.name === "dev-admin");
  const seededSecret = randomClientSecret();
  const steps: string[] = [];
  const step = (s: string, name: string) => {
    steps.push(`${s}:${name}`);
    return Promise.resolve();
  };
  const tags = (extra: Record<string, string> = {}) => ({
    [TAG.managedBy]: "token-broker",
    [TAG.kind]: "client-secret",
    [TAG.applicationObjectId]: DEV_DOWNSTREAM_APP.objectId,
    [TAG.clientId]: DEV_DOWNSTREAM_APP.clientId,
    [TAG.lifetimeDays]: "90",
    ...extra,
  });
  const keyIds = () => graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId);

  before(async () => {
    const tls = await createDevCertificate();
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
    base = {
      deploymentId: DEPLOYMENT,
      passwords: new ApplicationPasswordsClient({ baseUrl: graph.url, credential, send }),
      tenantId: TENANT,
      minter,
      verifyScope: `${GRAPH}/.default`,
      now: Date.now,
      retryDelaysMs: [],
    };
    rotator = new ClientSecretRotator(base);
  });
  beforeEach(() => {
    steps.length = 0;
    graph.clearFaults();
    graph.setPropagationDelay(0);
  });
  after(async () => {
    await Promise.all([graph.close(), entra.close()]);
  });

  test("create: a marked password with the recorded lifetime, proven with a real token request", async () => {
    const before = Date.now();
    const fresh = await rotator.create("app-secret", tags(), step);
    assert.deepEqual(steps, ["created:app-secret", "verified:app-secret"]);
    assert.equal(fresh.pending, undefined);
    const password = graph.passwords(DEV_DOWNSTREAM_APP.objectId).find((p) => p.keyId === fresh.upstreamId);
    assert.ok(password !== undefined, "the password exists upstream");
    assert.match(password.displayName ?? "", new RegExp(`:${DEPLOYMENT}:app-secret:`));
    const lifetime = fresh.expiresOn.getTime() - before;
    assert.ok(lifetime > 89.9 * DAY && lifetime < 90.1 * DAY, `lifetime ${lifetime}`);
    assert.equal(await rotator.accepts(tags(), fresh.value), "accepted");
    assert.equal(await rotator.accepts(tags(), "not-the-secret"), "refused");
    const marked = await rotator.marked([
      {
        name: "app-secret",
        version: "v",
        enabled: true,
        contentType: undefined,
        expiresOn: undefined,
        createdOn: undefined,
        updatedOn: undefined,
        tags: tags(),
      },
    ]);
    assert.ok(marked.some((m) => m.credential === "app-secret" && m.upstreamId === fresh.upstreamId));
    assert.ok(!marked.some((m) => m.upstreamId === SEEDED_KEY), "an unmarked password is not ours");
  });

  test("a secret Entra does not accept yet is kept, answered pending (not verified)", async () => {
    graph.setPropagationDelay(10 * 60_000);
    const fresh = await rotator.create("slow-secret", tags(), step);
    assert.equal(fresh.pending, true);
    assert.deepEqual(steps, ["created:slow-secret"]);
    assert.ok(keyIds().includes(fresh.upstreamId), "not removed");
    assert.equal(await rotator.accepts(tags(), fresh.value), "refused");
  });

  test("revoke: its own password removed, then not-found; a password not its own refused", async () => {
    const fresh = await rotator.create("rev-secret", tags(), step);
    assert.equal(await rotator.revoke(tags(), fresh.upstreamId), "revoked");
    assert.ok(!keyIds().includes(fresh.upstreamId));
    assert.equal(await rotator.accepts(tags(), fresh.value), "refused");
    assert.equal(await rotator.revoke(tags(), fresh.upstreamId), "not-found");
    const refused = await rotationError(rotator.revoke(tags(), SEEDED_KEY));
    assert.equal(refused.code, "password_not_ours");
    assert.ok(keyIds().includes(SEEDED_KEY));
  });

  test("an application it may not change: refused before any password is added", async () => {
    const count = keyIds().length;
    const mismatch = await rotationError(
      rotator.create("x", tags({ [TAG.clientId]: "a1b2c3d4-0000-4000-8000-0000000000ff" }), step),
    );
    assert.equal(mismatch.code, "client_id_mismatch");
    const listed = new ClientSecretRotator({ ...base, managedApplications: () => new Set(["someone-else"]) });
    assert.equal((await rotationError(listed.create("x", tags(), step))).code, "application_not_managed");
    assert.equal(
      (await rotationError(rotator.create("x", tags({ [TAG.lifetimeDays]: "" }), step))).code,
      "missing_rotation_settings",
    );
    assert.equal(keyIds().length, count);
    assert.deepEqual(steps, []);
  });

  test("Graph failures map to short codes, transient or not", async () => {
    graph.injectFault({ status: 503, count: 5, operation: "addPassword" });
    const unavailable = await rotationError(rotator.create("x", tags(), step));
    assert.equal(unavailable.code, "graph_addPassword_unavailable");
    assert.equal(unavailable.transient, true);
    graph.clearFaults();
    graph.injectFault({ status: 403, count: 5, operation: "getApplication" });
    const forbidden = await rotationError(rotator.revoke(tags(), SEEDED_KEY));
    assert.equal(forbidden.code, "graph_getApplication_forbidden");
    assert.equal(forbidden.transient, false);
    assert.deepEqual(steps, []);
  });
});

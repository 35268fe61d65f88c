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
import { DevSigner } from "../src/local/emulators/signer.js";
import { randomClientSecret } from "../src/local/sample-data.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { GraphError, type GraphErrorReason } from "../src/graph/graph-error.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const SEEDED_KEY = "a1b2c3d4-0000-4000-8000-00000000c0de";
const DAY = 24 * 3600_000;

describe("Microsoft Graph application-passwords client against the emulator", () => {
  let entra: EntraEmulator;
  let graph: GraphEmulator;
  let send: HttpSend;
  let clock = Date.now();
  const seededSecret = randomClientSecret();
  const secrets: string[] = [seededSecret];
  const tokens: string[] = [];
  const messages: string[] = [];
  const admin = DEV_CLIENTS.find((c) => c.name === "dev-admin");
  const caller = DEV_CLIENTS.find((c) => c.name === "dev-caller");

  const tokenCall = async (form: Record<string, string>) => {
    const res = await send({
      method: "POST",
      url: entra.tokenEndpoint,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  const appCredential = (clientId: string, secret: string): TokenCredential => ({
    getToken: async () => {
      const answer = await tokenCall({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: secret,
        scope: "https://graph.microsoft.com/.default",
      });
      const token = String(answer.json["access_token"]);
      tokens.push(token);
      return { token, expiresOnTimestamp: clock + 3600_000 };
    },
  });
  const client = (credential = appCredential(admin?.clientId ?? "", admin?.secret ?? "")) =>
    new ApplicationPasswordsClient({ baseUrl: graph.url, credential, send });
  const failure = async (promise: Promise<unknown>): Promise<GraphErrorReason> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof GraphError, `expected a GraphError, got ${String(error)}`);
      messages.push(error.message, String(error), error.stack ?? "");
      return error.reason;
    }
    assert.fail("expected the call to fail");
  };
  const downstreamToken = (secret: string) =>
    tokenCall({
      grant_type: "client_credentials",
      client_id: DEV_DOWNSTREAM_APP.clientId,
      client_secret: secret,
      scope: "https://graph.microsoft.com/.default",
    });

  before(async () => {
    const tls = await createDevCertificate();
    const signer = await DevSigner.create();
    send = httpSender({ extraCa: tls.cert, devStack: true });
    entra = await startEntraEmulator({
      tls,
      signer,
      tenantId: TENANT,
      brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
      // dev-admin stands in for the broker here: Graph's app role is in its Graph tokens.
      clients: [
        ...DEV_CLIENTS.map((c) =>
          c.name === "dev-admin"
            ? { ...c, resourceRoles: { "https://graph.microsoft.com": [GRAPH_OWNED_BY_ROLE] } }
            : c,
        ),
        { ...DEV_DOWNSTREAM_APP, brokerRoles: [] },
      ],
      users: [DEV_USER],
      publicClients: [DEV_PUBLIC_CLIENT],
      now: () => clock,
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
          passwords: [{ keyId: SEEDED_KEY, secret: seededSecret, endDateTime: new Date(clock + 180 * DAY) }],
        },
      ],
      propagationDelayMs: 10_000,
      ...passwordsReachEntra(entra),
      now: () => clock,
    });
  });
  after(async () => {
    await Promise.all([graph.close(), entra.close()]);
    const canaries = [...secrets, ...tokens, "does not exist", "Injected", "Insufficient"];
    for (const message of messages) {
      for (const canary of canaries) assert.ok(!message.includes(canary), `leak in: ${message.slice(0, 80)}`);
    }
    assert.ok(messages.length >= 6, "the leak check saw the errors");
  });

  test("add (works at Entra after propagation), list, remove (the old secret stops working)", async () => {
    const c = client();
    const before = await c.listPasswords(DEV_DOWNSTREAM_APP.objectId);
    assert.deepEqual(
      before.map((p) => p.keyId),
      [SEEDED_KEY],
    );
    const endDateTime = new Date(clock + 90 * DAY);
    const added = await c.addPassword(DEV_DOWNSTREAM_APP.objectId, {
      displayName: "tb-rotation",
      endDateTime,
    });
    secrets.push(added.secretText);
    assert.equal(added.secretText.length, 40);
    assert.equal(added.hint, added.secretText.slice(0, 3));
    assert.equal(added.endDateTime.toISOString(), endDateTime.toISOString());
    assert.equal(added.displayName, "tb-rotation");
    const listed = await c.listPasswords(DEV_DOWNSTREAM_APP.objectId);
    assert.deepEqual(listed.map((p) => p.keyId).sort(), [SEEDED_KEY, added.keyId].sort());
    assert.ok(listed.every((p) => !("secretText" in p)));
    assert.equal(graph.passwords(DEV_DOWNSTREAM_APP.objectId).length, 2);

    assert.equal((await downstreamToken(added.secretText)).status, 401, "not yet propagated");
    clock += 10_000;
    assert.equal((await downstreamToken(added.secretText)).status, 200);

    assert.equal((await downstreamToken(seededSecret)).status, 200);
    await c.removePassword(DEV_DOWNSTREAM_APP.objectId, SEEDED_KEY);
    assert.equal((await downstreamToken(seededSecret)).status, 401, "removed at Graph, refused at Entra");
    assert.deepEqual(
      (await c.listPasswords(DEV_DOWNSTREAM_APP.objectId)).map((p) => p.keyId),
      [added.keyId],
    );
  });

  test("unknown app is not-found, an absent keyId is absent (read back); wrong callers are refused", async () => {
    const c = client();
    const nobody = "00000000-0000-4000-8000-000000000000";
    assert.deepEqual(await failure(c.listPasswords(nobody)), { kind: "not-found" });
    assert.deepEqual(
      await failure(c.addPassword(nobody, { displayName: "x", endDateTime: new Date(clock + DAY) })),
      { kind: "not-found" },
    );
    // Graph documents no answer for an absent keyId: whether 400 or 404, only the read decides.
    for (const status of [400, 404] as const) {
      graph.setAbsentKeyIdStatus(status);
      graph.resetStats();
      assert.equal(await c.removePassword(DEV_DOWNSTREAM_APP.objectId, nobody), "absent");
      assert.deepEqual(graph.stats().byOperation, { removePassword: 1, getApplication: 1 });
    }
    graph.setAbsentKeyIdStatus(400);
    // An unknown application: the read cannot confirm anything, so its not-found stands.
    assert.deepEqual(await failure(c.removePassword(nobody, nobody)), { kind: "not-found" });
    const raw = await send({
      method: "GET",
      url: `${graph.url}/v1.0/applications/${nobody}?$select=passwordCredentials`,
      headers: { authorization: `Bearer ${tokens[0] ?? ""}` },
    });
    const body = JSON.parse(raw.body) as { error: { code: string; innerError: Record<string, unknown> } };
    assert.equal(raw.status, 404);
    assert.equal(body.error.code, "Request_ResourceNotFound");
    assert.ok(body.error.innerError["request-id"], "camelCase innerError");

    const notOwner = client(appCredential(caller?.clientId ?? "", caller?.secret ?? ""));
    assert.deepEqual(
      await failure(
        notOwner.addPassword(DEV_DOWNSTREAM_APP.objectId, {
          displayName: "x",
          endDateTime: new Date(clock + DAY),
        }),
      ),
      { kind: "forbidden", code: "Authorization_RequestDenied" },
    );
    const refresh = entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, "x");
    const delegated = await tokenCall({
      grant_type: "refresh_token",
      client_id: DEV_PUBLIC_CLIENT.clientId,
      refresh_token: refresh,
      scope: "https://graph.microsoft.com/.default offline_access",
    });
    const userToken = String(delegated.json["access_token"]);
    tokens.push(userToken, refresh);
    const asUser = client({
      getToken: () => Promise.resolve({ token: userToken, expiresOnTimestamp: clock + 60_000 }),
    });
    assert.equal((await failure(asUser.listPasswords(DEV_DOWNSTREAM_APP.objectId))).kind, "forbidden");
    const bogus = client({
      getToken: () => Promise.resolve({ token: "not-a-jwt", expiresOnTimestamp: clock + 60_000 }),
    });
    assert.deepEqual(await failure(bogus.listPasswords(DEV_DOWNSTREAM_APP.objectId)), {
      kind: "unauthorized",
    });
    const broken = client({ getToken: () => Promise.reject(new Error(`identity down ${seededSecret}`)) });
    assert.equal((await failure(broken.listPasswords(DEV_DOWNSTREAM_APP.objectId))).kind, "unavailable");
  });

  test("ambiguous answers: gone only when the read-back says so", async () => {
    const c = client();
    const app = DEV_DOWNSTREAM_APP.objectId;
    const add = async () => {
      const added = await c.addPassword(app, {
        displayName: "tb-ambiguous",
        endDateTime: new Date(clock + DAY),
      });
      secrets.push(added.secretText);
      return added.keyId;
    };
    const holds = (keyId: string) => graph.passwords(app).some((p) => p.keyId === keyId);

    // A removal that happened behind a 503 (or a timeout): the read shows it gone.
    const behind503 = await add();
    graph.injectFault({ status: 503, count: 1, operation: "removePassword", afterApplying: true });
    assert.equal(await c.removePassword(app, behind503), "absent");
    assert.equal(holds(behind503), false);

    // A 503 where nothing happened: still there, so the outage is the answer, never "gone".
    const kept = await add();
    graph.injectFault({ status: 503, count: 1, operation: "removePassword" });
    assert.deepEqual(await failure(c.removePassword(app, kept)), {
      kind: "unavailable",
      retryAfterSeconds: undefined,
    });
    assert.equal(holds(kept), true);

    // The read fails too: the removal's own error stands.
    graph.injectFault({ status: 503, count: 2 });
    assert.equal((await failure(c.removePassword(app, kept))).kind, "unavailable");
    assert.equal(holds(kept), true);

    // An application the identity may not write: 403, and the password is still there.
    const notOwner = client(appCredential(caller?.clientId ?? "", caller?.secret ?? ""));
    assert.deepEqual(await failure(notOwner.removePassword(app, kept)), {
      kind: "forbidden",
      code: "Authorization_RequestDenied",
    });
    assert.equal(holds(kept), true);
    // Throttled: no read that would fare no better.
    graph.resetStats();
    graph.injectFault({ status: 429, count: 1, retryAfterSeconds: 3, operation: "removePassword" });
    assert.deepEqual(await failure(c.removePassword(app, kept)), { kind: "throttled", retryAfterSeconds: 3 });
    assert.deepEqual(graph.stats().byOperation, { removePassword: 1 });
    assert.equal(await c.removePassword(app, kept), "removed");
  });

  test("throttling and outages carry Retry-After, per operation", async () => {
    const c = client();
    graph.injectFault({ status: 429, count: 1, retryAfterSeconds: 5, operation: "addPassword" });
    await c.listPasswords(DEV_DOWNSTREAM_APP.objectId);
    assert.deepEqual(
      await failure(
        c.addPassword(DEV_DOWNSTREAM_APP.objectId, { displayName: "x", endDateTime: new Date(clock + DAY) }),
      ),
      { kind: "throttled", retryAfterSeconds: 5 },
    );
    graph.injectFault({ status: 503, count: 5 });
    assert.deepEqual(await failure(c.listPasswords(DEV_DOWNSTREAM_APP.objectId)), {
      kind: "unavailable",
      retryAfterSeconds: undefined,
    });
    graph.clearFaults();
    graph.resetStats();
    await c.listPasswords(DEV_DOWNSTREAM_APP.objectId);
    assert.deepEqual(graph.stats(), { requests: 1, byOperation: { getApplication: 1 } });
  });
});

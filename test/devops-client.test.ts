import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import {
  AZURE_DEVOPS_RESOURCE,
  DEV_CLIENTS,
  DEV_DEVOPS_ORGANIZATIONS,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
} from "../src/local/dev-identities.js";
import { startAzureDevOpsEmulator, type AzureDevOpsEmulator } from "../src/local/emulators/azure-devops.js";
import { startEntraEmulator, type EntraEmulator } from "../src/local/emulators/entra.js";
import { DevSigner } from "../src/local/emulators/signer.js";
import { DevOpsError, type DevOpsErrorReason } from "../src/devops/devops-error.js";
import { checkPat } from "../src/devops/pat-check.js";
import { PatLifecycleClient, type CreatedPat } from "../src/devops/pat-lifecycle-client.js";
import { httpSender, type HttpRequest, type HttpSend } from "../src/net/http-request.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DAY = 24 * 3600_000;

async function devOpsError(promise: Promise<unknown>): Promise<DevOpsError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DevOpsError, `expected a DevOpsError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

describe("Azure DevOps PAT lifecycle client against the emulator", () => {
  let tls: DevCertificate;
  let signer: DevSigner;
  let entra: EntraEmulator;
  let ado: AzureDevOpsEmulator;
  let send: HttpSend;
  let userToken: string;
  let appToken: string;
  const sent: HttpRequest[] = [];
  const messages: string[] = [];
  const created: CreatedPat[] = [];

  const client = (token = () => Promise.resolve(userToken), base?: string) =>
    new PatLifecycleClient({
      baseUrl: base ?? ado.url,
      accessToken: token,
      send: (req) => {
        sent.push(req);
        return send(req);
      },
    });
  const failure = async (promise: Promise<unknown>): Promise<DevOpsErrorReason> => {
    const error = await devOpsError(promise);
    messages.push(error.message, String(error), error.stack ?? "");
    return error.reason;
  };

  before(async () => {
    tls = await createDevCertificate();
    signer = await DevSigner.create();
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
      pageSize: 3,
    });
    const token = async (form: Record<string, string>) => {
      const res = await send({
        method: "POST",
        url: entra.tokenEndpoint,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
      return (JSON.parse(res.body) as { access_token: string }).access_token;
    };
    userToken = await token({
      grant_type: "refresh_token",
      client_id: DEV_PUBLIC_CLIENT.clientId,
      refresh_token: entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, "x"),
      scope: `${AZURE_DEVOPS_RESOURCE}/.default offline_access`,
    });
    const caller = DEV_CLIENTS[0];
    appToken = await token({
      grant_type: "client_credentials",
      client_id: caller?.clientId ?? "",
      client_secret: caller?.secret ?? "",
      scope: `${AZURE_DEVOPS_RESOURCE}/.default`,
    });
  });
  after(async () => {
    await Promise.all([ado.close(), entra.close()]);
    // Nothing secret in any error message the tests saw: no token, no PAT, no upstream text.
    const canaries = [userToken, appToken, ...created.map((p) => p.token), "TF400813", "Injected"];
    for (const message of messages) {
      for (const canary of canaries) assert.ok(!message.includes(canary), `leak in: ${message.slice(0, 80)}`);
    }
    assert.ok(messages.length >= 8, "the leak check saw the errors");
  });

  test("create (allOrgs false on the wire), list across pages, get, update and revoke", async () => {
    const c = client();
    const validTo = new Date(Date.now() + 30 * DAY);
    for (let i = 0; i < 7; i++) {
      created.push(
        await c.create("contoso", {
          displayName: `tb-test-${i}`,
          scope: ["vso.code", "vso.packaging"],
          validTo,
        }),
      );
    }
    const body = JSON.parse(sent.find((r) => r.method === "POST")?.body ?? "{}") as Record<string, unknown>;
    assert.deepEqual(body, {
      displayName: "tb-test-0",
      scope: "vso.code vso.packaging",
      validTo: validTo.toISOString(),
      allOrgs: false,
    });
    const first = created[0];
    assert.ok(first !== undefined);
    assert.match(first.token, /^[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}$/);
    assert.deepEqual(first.targetAccounts, [DEV_DEVOPS_ORGANIZATIONS[0]?.id]);

    ado.resetStats();
    const listed = await c.list("contoso", { sortByOption: "displayName" });
    assert.equal(ado.stats().byOperation.list, 3, "7 PATs in pages of 3");
    assert.deepEqual(
      listed.map((p) => p.displayName),
      created.map((p) => p.displayName),
    );
    const pages = sent.filter((r) => r.method === "GET" && r.url.includes("displayFilterOption"));
    for (const page of pages.slice(-3)) {
      const q = new URL(page.url).searchParams;
      assert.equal(q.get("displayFilterOption"), "active");
      assert.equal(q.get("sortByOption"), "displayName", "filters are resent with every page");
    }
    assert.equal(
      (await c.list("contoso", { pageSize: 100 })).length,
      7,
      "one page when $top is large enough",
    );
    assert.equal((await c.list("fabrikam")).length, 0, "PATs belong to one organization");

    const got = await c.get("contoso", first.authorizationId);
    assert.equal(got.displayName, "tb-test-0");
    assert.ok(!("token" in got), "the value is only in the create answer");
    const later = new Date(Date.now() + 40 * DAY);
    const updated = await c.update("contoso", { authorizationId: first.authorizationId, validTo: later });
    assert.equal(updated.validTo.toISOString(), later.toISOString());
    assert.equal((JSON.parse(sent.at(-1)?.body ?? "{}") as { allOrgs?: unknown }).allOrgs, false);

    await c.revoke("contoso", first.authorizationId);
    assert.equal(ado.pats("contoso")[0]?.status, "revoked");
    assert.equal((await c.list("contoso")).length, 6);
    assert.deepEqual(
      (await c.list("contoso", { displayFilterOption: "revoked" })).map((p) => p.authorizationId),
      [first.authorizationId],
    );
    assert.equal((await c.list("contoso", { displayFilterOption: "all" })).length, 7);
  });

  test("a PAT proves itself at connectionData for its organization only, until revoked", async () => {
    const c = client();
    const pat = await c.create("contoso", {
      displayName: "tb-verify",
      scope: "vso.code",
      validTo: new Date(Date.now() + DAY),
    });
    created.push(pat);
    const check = (org: string, value: string) => checkPat(org, value, { baseUrl: ado.url, send });
    assert.deepEqual(await check("contoso", pat.token), { valid: true, userId: DEV_USER.objectId });
    assert.deepEqual(await check("fabrikam", pat.token), { valid: false });
    assert.deepEqual(
      await check(
        "contoso",
        pat.token.replace(/^./, (ch) => (ch === "A" ? "B" : "A")),
      ),
      {
        valid: false,
      },
    );
    await c.revoke("contoso", pat.authorizationId);
    assert.deepEqual(await check("contoso", pat.token), { valid: false });
    ado.injectFault({ status: 503, count: 1, operation: "connectionData" });
    const down = await devOpsError(check("contoso", pat.token));
    messages.push(down.message);
    assert.equal(down.reason.kind, "unavailable");
  });

  test("patTokenError answers become DevOpsError rejected(patTokenError)", async () => {
    const c = client();
    const validTo = new Date(Date.now() + DAY);
    assert.deepEqual(await failure(c.create("contoso", { displayName: "x", scope: "nonsense", validTo })), {
      kind: "rejected",
      patTokenError: "invalidScope",
      status: 200,
    });
    const past = new Date(Date.now() - DAY);
    assert.equal(
      (
        (await failure(c.create("contoso", { displayName: "x", scope: "vso.code", validTo: past }))) as {
          patTokenError?: string;
        }
      ).patTokenError,
      "invalidValidTo",
    );
    const reason = await failure(c.create("contoso", { displayName: " ", scope: "vso.code", validTo }));
    assert.equal((reason as { patTokenError?: string }).patTokenError, "displayNameRequired");
    const missing = "00000000-0000-4000-8000-000000000000";
    assert.equal(
      ((await failure(c.get("contoso", missing))) as { patTokenError?: string }).patTokenError,
      "authorizationNotFound",
    );
    assert.equal(
      ((await failure(c.revoke("contoso", missing))) as { patTokenError?: string }).patTokenError,
      "authorizationNotFound",
    );

    // A global PAT is refused by policy; the client has no way to ask for one.
    const raw = await send({
      method: "POST",
      url: `${ado.url}/contoso/_apis/tokens/pats?api-version=7.1-preview.1`,
      headers: { authorization: `Bearer ${userToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        displayName: "global",
        scope: "vso.code",
        validTo: validTo.toISOString(),
        allOrgs: true,
      }),
    });
    assert.deepEqual(JSON.parse(raw.body), { patToken: null, patTokenError: "globalPatPolicyViolation" });
    await assert.rejects(c.get("contoso", "not-a-guid"), RangeError);
  });

  test("the same errors when they come with 400, and a revoke answered 200", async () => {
    const strict = await startAzureDevOpsEmulator({
      tls,
      signer,
      tenantId: TENANT,
      organizations: DEV_DEVOPS_ORGANIZATIONS,
      patTokenErrorStatus: 400,
      revokeStatus: 200,
    });
    try {
      const c = client(undefined, strict.url);
      const reason = await failure(
        c.create("contoso", { displayName: "x", scope: "nonsense", validTo: new Date(Date.now() + DAY) }),
      );
      assert.deepEqual(reason, { kind: "rejected", patTokenError: "invalidScope", status: 400 });
      const pat = await c.create("contoso", {
        displayName: "x",
        scope: "vso.code",
        validTo: new Date(Date.now() + DAY),
      });
      created.push(pat);
      await c.revoke("contoso", pat.authorizationId);
      assert.equal(strict.pats("contoso")[0]?.status, "revoked");
    } finally {
      await strict.close();
    }
  });

  test("app-only and foreign tokens are refused: forbidden and unauthorized", async () => {
    assert.deepEqual(await failure(client(() => Promise.resolve(appToken)).list("contoso")), {
      kind: "forbidden",
    });
    assert.deepEqual(await failure(client(() => Promise.resolve("eyJhbGciOi.not.atoken")).list("contoso")), {
      kind: "unauthorized",
    });
    // The token source's own failure is the caller's, passed through unchanged.
    const own = new Error("no refresh token");
    await assert.rejects(client(() => Promise.reject(own)).list("contoso"), (e) => e === own);
  });

  test("throttling and outages carry Retry-After; faults can be limited to one operation", async () => {
    const c = client();
    ado.injectFault({ status: 429, count: 1, retryAfterSeconds: 7, operation: "list" });
    const throttled = await devOpsError(c.list("contoso"));
    messages.push(throttled.message);
    assert.deepEqual(throttled.reason, { kind: "throttled", retryAfterSeconds: 7 });
    assert.ok(throttled.transient);
    ado.injectFault({ status: 503, count: 2, operation: "create" });
    await c.list("contoso"); // not the faulted operation
    const validTo = new Date(Date.now() + DAY);
    assert.deepEqual(await failure(c.create("contoso", { displayName: "x", scope: "vso.code", validTo })), {
      kind: "unavailable",
      retryAfterSeconds: undefined,
    });
    ado.clearFaults();
    created.push(await c.create("contoso", { displayName: "x", scope: "vso.code", validTo }));
    ado.injectFault({ status: 401, count: 1 });
    assert.deepEqual(await failure(c.get("contoso", created[0]?.authorizationId ?? "")), {
      kind: "unauthorized",
    });
    const offline = new PatLifecycleClient({
      baseUrl: "https://127.0.0.1:1",
      accessToken: () => Promise.resolve(userToken),
      send,
    });
    assert.equal((await failure(offline.list("contoso"))).kind, "unavailable");
  });
});

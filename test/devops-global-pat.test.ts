import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDevCertificate } from "../src/local/dev-certificate.js";
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
import { checkPat } from "../src/devops/pat-check.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { ManualClock } from "./support/manual-clock.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DAY = 24 * 3600_000;

/**
 * The Azure DevOps emulator follows the real service by its own clock: global PATs (allOrgs)
 * could be created until 2026-03-15 and authenticate nowhere from 2026-12-01.
 */
describe("global PATs in the Azure DevOps emulator, by its clock", () => {
  const clock = new ManualClock(Date.parse("2026-03-14T12:00:00Z"));
  let entra: EntraEmulator;
  let ado: AzureDevOpsEmulator;
  let send: HttpSend;

  before(async () => {
    const tls = await createDevCertificate();
    const signer = await DevSigner.create();
    send = httpSender({ extraCa: tls.cert, devStack: true });
    const now = () => clock.now();
    entra = await startEntraEmulator({
      tls,
      signer,
      tenantId: TENANT,
      brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
      clients: DEV_CLIENTS,
      users: [DEV_USER],
      publicClients: [DEV_PUBLIC_CLIENT],
      now,
    });
    ado = await startAzureDevOpsEmulator({
      tls,
      signer,
      tenantId: TENANT,
      organizations: DEV_DEVOPS_ORGANIZATIONS,
      now,
    });
  });
  after(async () => {
    await Promise.all([ado.close(), entra.close()]);
  });

  /** A user-delegated token minted now (the clock moves between calls). */
  async function userToken(): Promise<string> {
    const res = await send({
      method: "POST",
      url: entra.tokenEndpoint,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: DEV_PUBLIC_CLIENT.clientId,
        refresh_token: entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, "x"),
        scope: `${AZURE_DEVOPS_RESOURCE}/.default offline_access`,
      }).toString(),
    });
    return (JSON.parse(res.body) as { access_token: string }).access_token;
  }

  async function createGlobal(): Promise<{ patToken: { token: string } | null; patTokenError: string }> {
    const res = await send({
      method: "POST",
      url: `${ado.url}/contoso/_apis/tokens/pats?api-version=7.1-preview.1`,
      headers: { authorization: `Bearer ${await userToken()}`, "content-type": "application/json" },
      body: JSON.stringify({
        displayName: "global",
        scope: "vso.code",
        validTo: new Date(clock.now() + 300 * DAY).toISOString(),
        allOrgs: true,
      }),
    });
    return JSON.parse(res.body) as { patToken: { token: string } | null; patTokenError: string };
  }

  const works = async (organization: string, pat: string) =>
    (await checkPat(organization, pat, { baseUrl: ado.url, send })).valid;

  test("created before 2026-03-15, refused after; authenticates everywhere until 2026-12-01, nowhere after", async () => {
    const made = await createGlobal();
    assert.equal(made.patTokenError, "none");
    const pat = made.patToken?.token ?? "";
    assert.notEqual(pat, "");
    // Global: valid in every organization, not just the one it was made in.
    for (const org of DEV_DEVOPS_ORGANIZATIONS) assert.equal(await works(org.name, pat), true, org.name);

    await clock.advance(Date.parse("2026-03-15T00:00:00Z") - clock.now());
    assert.deepEqual(await createGlobal(), { patToken: null, patTokenError: "globalPatPolicyViolation" });
    assert.equal(await works("contoso", pat), true, "made before the cut-off, it still works");

    await clock.advance(Date.parse("2026-11-30T23:59:00Z") - clock.now());
    assert.equal(await works("contoso", pat), true);
    await clock.advance(Date.parse("2026-12-01T00:00:00Z") - clock.now());
    for (const org of DEV_DEVOPS_ORGANIZATIONS) assert.equal(await works(org.name, pat), false, org.name);
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { entraIssuers, issuerTrusts } from "../src/auth/issuers.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { DEV_BROKER_APP_ID } from "../src/local/dev-identities.js";
import {
  callerToken,
  devClient,
  rawCallerToken,
  startTestStack,
  type TestStack,
} from "./support/dev-stack.js";

const TID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const base = {
  KEY_VAULT_URL: "https://kv-broker.vault.azure.net/",
  BROKER_TENANT_ID: TID.toUpperCase(),
  BROKER_AUDIENCE: "api://token-broker",
  BROKER_POLICY_FILE: "/home/site/wwwroot/policy/policy.json",
};

const issuersFor = (env: Record<string, string>) => entraIssuers(loadConfig({ ...base, ...env }));

describe("Entra issuers follow the authority host's cloud", () => {
  test("public cloud and its aliases: v1 on sts.windows.net, v2 on login.microsoftonline.com", () => {
    for (const host of [
      "https://login.microsoftonline.com",
      "https://login.microsoftonline.com/", // Bicep's environment().authentication.loginEndpoint form
      "https://LOGIN.windows.net",
      "https://login.microsoft.com",
    ]) {
      assert.deepEqual(issuersFor({ AZURE_AUTHORITY_HOST: host }), {
        v1: `https://sts.windows.net/${TID}/`,
        v2: `https://login.microsoftonline.com/${TID}/v2.0`,
      });
    }
  });

  test("US Government keeps sts.windows.net for v1; v2 is on login.microsoftonline.us", () => {
    for (const host of ["https://login.microsoftonline.us/", "https://login.usgovcloudapi.net"]) {
      assert.deepEqual(issuersFor({ AZURE_AUTHORITY_HOST: host }), {
        v1: `https://sts.windows.net/${TID}/`,
        v2: `https://login.microsoftonline.us/${TID}/v2.0`,
      });
    }
  });

  test("China (21Vianet): v1 on sts.chinacloudapi.cn, v2 on login.partner.microsoftonline.cn", () => {
    for (const host of ["https://login.chinacloudapi.cn/", "https://login.partner.microsoftonline.cn"]) {
      assert.deepEqual(issuersFor({ AZURE_AUTHORITY_HOST: host }), {
        v1: `https://sts.chinacloudapi.cn/${TID}/`,
        v2: `https://login.partner.microsoftonline.cn/${TID}/v2.0`,
      });
    }
    // Keys come from the configured authority (where Entra's discovery documents point them).
    const trusts = issuerTrusts(
      loadConfig({ ...base, AZURE_AUTHORITY_HOST: "https://login.chinacloudapi.cn" }),
    );
    assert.deepEqual(
      trusts.map((t) => [t.issuer, "jwksUri" in t.keys ? t.keys.jwksUri : ""]),
      [
        [`https://sts.chinacloudapi.cn/${TID}/`, `https://login.chinacloudapi.cn/${TID}/discovery/keys`],
        [
          `https://login.partner.microsoftonline.cn/${TID}/v2.0`,
          `https://login.chinacloudapi.cn/${TID}/discovery/v2.0/keys`,
        ],
      ],
    );
  });

  test("an unknown authority gets no v1 issuer unless one is configured (never a guessed sts.windows.net)", () => {
    for (const host of [
      "https://login.sovcloud-identity.fr",
      "https://login.microsoftonline.de", // Azure Germany, closed
      "https://login.microsoftonline.com.evil.example",
      "https://login.microsoftonline.com:8443",
      "https://login.microsoftonline.com/contoso",
    ]) {
      const issuers = issuersFor({ AZURE_AUTHORITY_HOST: host });
      assert.equal(issuers.v1, undefined, host);
      assert.equal(issuers.v2, `${host.replace(/\/+$/, "")}/${TID}/v2.0`, host);
      assert.deepEqual(
        issuerTrusts(loadConfig({ ...base, AZURE_AUTHORITY_HOST: host })).map((t) => t.issuer),
        [issuers.v2],
      );
    }
    const configured = issuersFor({
      AZURE_AUTHORITY_HOST: "https://login.sovcloud-identity.fr",
      BROKER_ENTRA_V1_ISSUER: `https://sts.sovcloud-identity.fr/${TID.toUpperCase()}/`,
    });
    assert.equal(configured.v1, `https://sts.sovcloud-identity.fr/${TID}/`);
  });

  test("BROKER_ENTRA_V1_ISSUER must be https and name exactly the broker's tenant", () => {
    for (const bad of [
      "http://sts.windows.net/" + TID + "/",
      "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
      "https://sts.windows.net/common/",
      `https://sts.windows.net/${TID}`,
      `https://sts.windows.net/${TID}/?x=1`,
      `https://sts.windows.net/${TID}/extra/`,
    ]) {
      assert.throws(
        () => loadConfig({ ...base, BROKER_ENTRA_V1_ISSUER: bad }),
        (e: unknown) => e instanceof ConfigError && e.message.includes("BROKER_ENTRA_V1_ISSUER"),
        bad,
      );
    }
  });
});

describe("the dev stack's loopback authority: v1 tokens only with the configured v1 issuer", () => {
  let stack: TestStack;
  before(async () => {
    // Blank counts as unset: the dev stack's own BROKER_ENTRA_V1_ISSUER is taken away.
    stack = await startTestStack({
      BROKER_ENTRA_V1_ISSUER: "",
      BROKER_AUDIENCE: `api://token-broker,${DEV_BROKER_APP_ID}`,
    });
  });
  after(async () => {
    await stack.close();
  });

  test("a v1 token (iss sts.windows.net) is refused; a v2 token from the same authority passes", async () => {
    const v1 = await callerToken(stack);
    assert.equal(decodeJwt(v1).iss, stack.entra.issuerV1);
    const refused = await stack.token(v1, { profile: "ado-read" });
    assert.equal(refused.status, 401);
    const v2 = await rawCallerToken(stack, devClient("dev-caller"), { token_version: "2" });
    assert.equal((await stack.token(v2, { profile: "ado-read" })).status, 200);
  });
});

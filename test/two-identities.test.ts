import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { decodeJwt } from "jose";
import { ConfigError } from "../src/config.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { GraphError } from "../src/graph/graph-error.js";
import { DEV_DOWNSTREAM_APP } from "../src/local/dev-identities.js";
import { startDevStack } from "../src/local/dev-stack.js";
import { createLogger } from "../src/log.js";
import { httpSender } from "../src/net/http-request.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";

/**
 * Issue 16: a caller can never be handed the broker's own power. The control identity alone holds
 * the vault and Graph; every managed-identity profile mints as a role-less minting identity, and
 * what it mints opens neither.
 */

const VAULT_SCOPE = "https://vault.azure.net/.default";
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** A credential that answers one fixed token (what a caller holds after POST /api/token). */
const fixed = (token: string): TokenCredential => ({
  getToken: () => Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
});

describe("two identities: the control identity never mints for callers", () => {
  let stack: TestStack;
  let caller: string;
  let ca: string;

  before(async () => {
    // An attacker's dream profiles: vault and Graph scopes, minted with the default identity.
    const policy = writePolicy({
      profiles: {
        "vault-probe": { kind: "entra", scope: VAULT_SCOPE, credential: { type: "managed-identity" } },
        "graph-probe": { kind: "entra", scope: GRAPH_SCOPE, credential: { type: "managed-identity" } },
      },
      grants: [
        {
          match: {
            tid: "a1b2c3d4-0000-4000-8000-000000000001",
            appid: "a1b2c3d4-0000-4000-8000-0000000000c1",
          },
          profiles: ["vault-probe", "graph-probe"],
        },
      ],
    });
    stack = await startTestStack({ BROKER_POLICY_FILE: policy });
    caller = await callerToken(stack);
    ca = readFileSync(stack.caFile, "utf8");
  });
  after(() => stack.close());

  const minted = async (profile: string): Promise<string> => {
    const res = await stack.token(caller, { profile });
    assert.equal(res.status, 200, profile);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  test("every managed-identity profile mints as its minting identity, never as the control identity", async () => {
    const { control, minting } = stack.identities;
    assert.notEqual(control.clientId, minting.clientId);
    let checked = 0;
    for (const name of stack.runtime.policy.profileNames()) {
      const profile = stack.runtime.policy.profile(name);
      if (profile?.kind !== "entra" || profile.credential.type !== "managed-identity") continue;
      const claims = decodeJwt(await minted(name));
      const expected = profile.credential.clientId ?? minting.clientId;
      assert.equal(claims["appid"], expected, name);
      assert.notEqual(claims["appid"], control.clientId, name);
      assert.notEqual(claims["oid"], control.objectId, name);
      assert.notEqual(claims["sub"], control.objectId, name);
      checked += 1;
    }
    // ado-read, ado-build and the two probes.
    assert.equal(checked, 4);
  });

  test("a minted vault token is refused by the vault: 403 Forbidden, ForbiddenByRbac", async () => {
    const asCaller = new SecretClient(
      stack.keyVault.url,
      fixed(await minted("vault-probe")),
      keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
    );
    for (const attempt of [
      () => asCaller.getSecret("refresh-token-pat-owner"),
      () => asCaller.listPropertiesOfSecrets().next(),
      () => asCaller.setSecret("planted", "x"),
    ]) {
      await assert.rejects(attempt, { statusCode: 403 });
    }
    await assert.rejects(asCaller.getSecret("pat-contoso-nuget"), (error: Error & { code?: string }) => {
      assert.equal(error.code, "Forbidden");
      assert.match(error.message, /Caller is not authorized to perform action on resource/);
      return true;
    });
    // The same through the real ManagedIdentityCredential of the minting identity.
    const asMinting = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.minting.clientId }),
      keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
    );
    await assert.rejects(asMinting.getSecret("pat-contoso-nuget"), { statusCode: 403, code: "Forbidden" });
    // The control identity reads it: the refusal is about the identity, not the vault.
    const asControl = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
    );
    assert.equal((await asControl.getSecret("pat-contoso-nuget")).name, "pat-contoso-nuget");
  });

  test("the vault's 403 body has Key Vault's shape (innererror ForbiddenByRbac)", async () => {
    const token = await minted("vault-probe");
    const send = httpSender({ extraCa: ca, devStack: true });
    const res = await send({
      method: "GET",
      url: `${stack.keyVault.url}/secrets/pat-contoso-nuget?api-version=7.5`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 403);
    const body = JSON.parse(res.body) as {
      error: { code: string; message: string; innererror: { code: string } };
    };
    assert.equal(body.error.code, "Forbidden");
    assert.equal(body.error.innererror.code, "ForbiddenByRbac");
    assert.match(body.error.message, /Action: 'Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action'/);
    assert.ok(body.error.message.includes(`oid=${stack.identities.minting.objectId}`));
  });

  test("a minted Graph token cannot touch the broker's apps: 403 Authorization_RequestDenied", async () => {
    const send = httpSender({ extraCa: ca, devStack: true });
    const before = stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId);
    for (const credential of [
      fixed(await minted("graph-probe")),
      new ManagedIdentityCredential({ clientId: stack.identities.minting.clientId }),
    ]) {
      const client = new ApplicationPasswordsClient({ baseUrl: stack.graph.url, credential, send });
      for (const attempt of [
        () =>
          client.addPassword(DEV_DOWNSTREAM_APP.objectId, {
            displayName: "x",
            endDateTime: new Date(Date.now() + 86400_000),
          }),
        () => client.removePassword(DEV_DOWNSTREAM_APP.objectId, before[0] ?? ""),
        () => client.listPasswords(DEV_DOWNSTREAM_APP.objectId),
      ]) {
        await assert.rejects(attempt, (error: unknown) => {
          assert.ok(error instanceof GraphError);
          assert.deepEqual(error.reason, { kind: "forbidden", code: "Authorization_RequestDenied" });
          return true;
        });
      }
    }
    assert.deepEqual(
      stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId),
      before,
      "nothing added or removed",
    );
    // The control identity's Graph token carries the app role; the minting identity's carries none.
    const control = await new ManagedIdentityCredential({
      clientId: stack.identities.control.clientId,
    }).getToken(GRAPH_SCOPE);
    assert.deepEqual(decodeJwt(control.token)["roles"], ["Application.ReadWrite.OwnedBy"]);
    assert.equal(decodeJwt(await minted("graph-probe"))["roles"], undefined);
  });

  test("a policy whose profile names the control identity stops the start, saying why", async () => {
    const policy = writePolicy({
      profiles: {
        "as-broker": {
          kind: "entra",
          scope: VAULT_SCOPE,
          credential: { type: "managed-identity", clientId: stack.identities.control.clientId },
        },
      },
    });
    await assert.rejects(
      startDevStack({ env: { PORT: "0", BROKER_POLICY_FILE: policy }, log: createLogger(() => undefined) }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /\$\.profiles\["as-broker"\]\.credential\.clientId: resolves to the broker's control identity \(AZURE_CLIENT_ID\)/.test(
          error.message,
        ),
    );
  });
});

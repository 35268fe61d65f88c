import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { checkPat } from "../src/devops/pat-check.js";
import { PatLifecycleClient, AZURE_DEVOPS_SCOPE } from "../src/devops/pat-lifecycle-client.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { DEV_DOWNSTREAM_APP, DEV_PUBLIC_CLIENT, DEV_USER } from "../src/local/dev-identities.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { startTestStack, type TestStack } from "./support/dev-stack.js";

describe("dev stack: upstream emulators and the seeded credentials", () => {
  let stack: TestStack;
  let send: HttpSend;

  before(async () => {
    stack = await startTestStack();
    send = httpSender({ extraCa: readFileSync(stack.caFile, "utf8"), devStack: true });
  });
  after(() => stack.close());

  test("config points the broker at the emulators", () => {
    assert.equal(stack.config.devopsUrl, stack.devops.url);
    assert.equal(stack.config.devopsVsspsUrl, stack.devops.url);
    assert.equal(stack.config.graphUrl, stack.graph.url);
  });

  test("the vault's refresh token manages the owner's PATs; the sample PATs pass the check", async () => {
    const refresh = await stack.runtime.store.getSecret("refresh-token-pat-owner");
    assert.equal(refresh.contentType, "application/vnd.microsoft.entra.refresh-token");
    assert.equal(refresh.tags["kind"], "refresh-token");
    assert.equal(refresh.tags["client-id"], DEV_PUBLIC_CLIENT.clientId);
    assert.equal(refresh.tags["owner"], DEV_USER.userPrincipalName);
    const answer = await send({
      method: "POST",
      url: `${stack.entra.url}/${stack.config.tenantId}/oauth2/v2.0/token`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: DEV_PUBLIC_CLIENT.clientId,
        refresh_token: refresh.value,
        scope: `${AZURE_DEVOPS_SCOPE} offline_access`,
      }).toString(),
    });
    assert.equal(answer.status, 200);
    const { access_token: accessToken } = JSON.parse(answer.body) as { access_token: string };
    const client = new PatLifecycleClient({
      baseUrl: stack.config.devopsVsspsUrl,
      accessToken: () => Promise.resolve(accessToken),
      send,
    });
    // Every sample PAT is the owner's, known upstream, and authenticates.
    const samples = ["pat-contoso-nuget", "pat-contoso-packages", "pat-contoso-code"];
    const pats = await Promise.all(samples.map((name) => stack.runtime.store.getSecret(name)));
    const listed = await client.list("contoso");
    assert.deepEqual(
      listed.map((p) => p.authorizationId).sort(),
      pats.map((pat) => pat.tags["authorization-id"]).sort(),
    );
    for (const pat of pats) {
      assert.deepEqual(await checkPat("contoso", pat.value, { baseUrl: stack.config.devopsUrl, send }), {
        valid: true,
        userId: DEV_USER.objectId,
      });
    }
  });

  test("the broker's managed identity manages the downstream app's secrets; removal reaches Entra", async () => {
    const client = new ApplicationPasswordsClient({
      baseUrl: stack.config.graphUrl,
      credential: new ManagedIdentityCredential({
        clientId: stack.identities.control.clientId,
        retryOptions: { maxRetries: 0 },
      }),
      send,
    });
    const seeded = await stack.runtime.store.getSecret("app-downstream-secret");
    assert.equal(seeded.tags["application-object-id"], DEV_DOWNSTREAM_APP.objectId);
    const listed = await client.listPasswords(DEV_DOWNSTREAM_APP.objectId);
    assert.deepEqual(
      listed.map((p) => p.keyId),
      [seeded.tags["key-id"]],
    );
    stack.graph.setPropagationDelay(60_000);
    const added = await client.addPassword(DEV_DOWNSTREAM_APP.objectId, {
      displayName: "tb-test",
      endDateTime: new Date(Date.now() + 24 * 3600_000),
    });
    const login = (secret: string) =>
      send({
        method: "POST",
        url: stack.entra.tokenEndpoint,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: DEV_DOWNSTREAM_APP.clientId,
          client_secret: secret,
          scope: "https://graph.microsoft.com/.default",
        }).toString(),
      });
    assert.equal((await login(added.secretText)).status, 401, "not yet propagated");
    assert.equal((await login(seeded.value)).status, 200);
    await client.removePassword(DEV_DOWNSTREAM_APP.objectId, seeded.tags["key-id"] ?? "");
    assert.equal((await login(seeded.value)).status, 401);
  });
});

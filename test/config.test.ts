import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

const base = {
  KEY_VAULT_URL: "https://kv-broker.vault.azure.net/",
  BROKER_TENANT_ID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
  BROKER_AUDIENCE: "api://token-broker, 6b3c2f8e-1111-4222-8333-444455556666",
  BROKER_POLICY_FILE: "/home/site/wwwroot/policy/policy.json",
};

function failure(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

describe("configuration", () => {
  test("parses the table with its defaults", () => {
    const c = loadConfig(base);
    assert.equal(c.port, 7071);
    assert.equal(c.keyVaultUrl, "https://kv-broker.vault.azure.net");
    assert.equal(c.tenantId, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert.deepEqual(c.audiences, ["api://token-broker", "6b3c2f8e-1111-4222-8333-444455556666"]);
    assert.deepEqual(c.trustedIssuers, []);
    assert.equal(c.authorityHost, "https://login.microsoftonline.com");
    assert.deepEqual(c.noticeDays, [7]);
    assert.equal(c.leaseStorage, undefined);
    assert.equal(c.rotateBeforeDays, 10);
    assert.equal(c.revokeGraceMinutes, 60);
    assert.equal(c.secretVerifyMinutes, 20);
    assert.equal(c.rotationSchedule, "0 0 3 * * *");
  });

  test("the client-secret verification window: whole minutes, 1 to a day", () => {
    assert.equal(loadConfig({ ...base, BROKER_SECRET_VERIFY_MINUTES: "45" }).secretVerifyMinutes, 45);
    for (const bad of ["0", "1441", "2.5", "soon"]) {
      assert.match(failure({ ...base, BROKER_SECRET_VERIFY_MINUTES: bad }), /BROKER_SECRET_VERIFY_MINUTES/);
    }
  });

  test("a missing setting is named", () => {
    const rest = Object.fromEntries(Object.entries(base).filter(([k]) => k !== "BROKER_TENANT_ID"));
    assert.match(failure(rest), /BROKER_TENANT_ID: is required/);
    assert.match(failure({ ...base, BROKER_POLICY_FILE: "  " }), /BROKER_POLICY_FILE: is required/);
  });

  test("a bad value is named, never echoed", () => {
    const canary = "canary-Zq81x";
    const cases: Record<string, string> = {
      KEY_VAULT_URL: `http://${canary}.vault.azure.net`,
      BROKER_TENANT_ID: canary,
      PORT: canary,
      BROKER_TRUSTED_ISSUERS: `[{"issuer": "${canary}"}]`,
      BROKER_NOTICE_WEBHOOK_URL: `http://${canary}.example.com/hook`,
      BROKER_ROTATION_SCHEDULE: `0 ${canary} *`,
      BROKER_NOTICE_DAYS: "-3",
    };
    for (const [name, value] of Object.entries(cases)) {
      const message = failure({ ...base, [name]: value });
      assert.ok(message.includes(name), `${name}: ${message}`);
      assert.ok(!message.includes(canary), `${name} leaks its value: ${message}`);
    }
    assert.match(
      failure({ ...base, BROKER_TRUSTED_ISSUERS: `not json ${canary}` }),
      /BROKER_TRUSTED_ISSUERS: is not valid JSON/,
    );
  });

  test("trusted issuers: https, or http on loopback only in the dev stack, and no unknown keys", () => {
    const loopback = JSON.stringify([
      { issuer: "https://token.actions.githubusercontent.com", audiences: ["api://token-broker"] },
      { issuer: "http://127.0.0.1:9999", jwksUri: "http://localhost:9999/keys" },
    ]);
    const ok = loadConfig({ ...base, BROKER_DEV_STACK: "true", BROKER_TRUSTED_ISSUERS: loopback });
    assert.equal(ok.trustedIssuers.length, 2);
    assert.equal(ok.devStack, true);
    const azure = failure({ ...base, BROKER_TRUSTED_ISSUERS: loopback });
    assert.match(azure, /BROKER_TRUSTED_ISSUERS \(at 1\.issuer\): must be https to a non-loopback host/);
    assert.match(azure, /BROKER_TRUSTED_ISSUERS \(at 1\.jwksUri\): must be https to a non-loopback host/);
    assert.doesNotMatch(azure, /at 0\./);
    assert.match(
      failure({ ...base, BROKER_TRUSTED_ISSUERS: '[{"issuer":"http://issuer.example.com"}]' }),
      /https/,
    );
    assert.match(
      failure({
        ...base,
        BROKER_DEV_STACK: "true",
        BROKER_TRUSTED_ISSUERS: '[{"issuer":"http://issuer.example.com"}]',
      }),
      /https/,
    );
    assert.match(
      failure({ ...base, BROKER_TRUSTED_ISSUERS: '[{"issuer":"https://a.example.com","x":1}]' }),
      /BROKER_TRUSTED_ISSUERS/,
    );
  });

  test("outbound URLs: plain http and loopback only with BROKER_DEV_STACK, which Azure refuses", () => {
    const loopbackUrls: Record<string, string> = {
      KEY_VAULT_URL: "https://127.0.0.1:8443",
      AZURE_AUTHORITY_HOST: "https://localhost:9443",
      BROKER_DEVOPS_URL: "http://127.0.0.1:8080",
      BROKER_DEVOPS_VSSPS_URL: "http://127.0.0.1:8080",
      BROKER_GRAPH_URL: "https://[::1]:9444",
      BROKER_NOTICE_WEBHOOK_URL: "http://127.0.0.1:9000/hook",
      BROKER_NOTICE_TEAMS_URL: "http://localhost:9000/teams",
      BROKER_LEASE_STORAGE_URL: "http://127.0.0.1:10000/devstoreaccount1",
      AzureWebJobsStorage__blobServiceUri: "http://127.0.0.1:10000/devstoreaccount1",
    };
    const dev = loadConfig({ ...base, ...loopbackUrls, BROKER_DEV_STACK: "true" });
    assert.equal(dev.graphUrl, "https://[::1]:9444");
    const message = failure({ ...base, ...loopbackUrls });
    for (const name of Object.keys(loopbackUrls)) {
      assert.match(message, new RegExp(`${name}: must be https to a non-loopback host`), name);
    }
    // One at a time too: each setting is checked on its own.
    for (const [name, value] of Object.entries(loopbackUrls)) {
      assert.match(failure({ ...base, [name]: value }), new RegExp(`${name}: must be https`), name);
    }
    const azurite =
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
    assert.match(failure({ ...base, AzureWebJobsStorage: azurite }), /AzureWebJobsStorage: must be https/);
    assert.match(
      failure({ ...base, AzureWebJobsStorage: "UseDevelopmentStorage=true" }),
      /AzureWebJobsStorage/,
    );
    assert.equal(
      loadConfig({ ...base, BROKER_DEV_STACK: "true", AzureWebJobsStorage: azurite }).leaseStorage?.kind,
      "connection-string",
    );
    assert.equal(loadConfig(base).devStack, false);

    // Azure sets WEBSITE_INSTANCE_ID on every instance: the dev flag is refused there.
    assert.match(
      failure({
        ...base,
        BROKER_DEV_STACK: "true",
        WEBSITE_INSTANCE_ID: "abc",
        AzureWebJobsStorage__accountName: "stbroker01",
      }),
      /BROKER_DEV_STACK: must not be set in Azure/,
    );
    assert.match(failure({ ...base, BROKER_DEV_STACK: "yes" }), /BROKER_DEV_STACK: must be true or unset/);
  });

  test("leases: identity-based Functions storage is found, and Azure refuses per-process leases", () => {
    const withAccount = loadConfig({ ...base, AzureWebJobsStorage__accountName: "stbroker01" });
    assert.deepEqual(withAccount.leaseStorage, {
      kind: "service-url",
      url: "https://stbroker01.blob.core.windows.net",
    });
    assert.throws(
      () => loadConfig({ ...base, WEBSITE_INSTANCE_ID: "abc" }),
      /BROKER_LEASE_STORAGE_URL: is required in Azure/,
    );
    assert.equal(loadConfig(base).leaseStorage, undefined);
  });

  test("two identities: the minting identity is a GUID and never the control identity", () => {
    const control = "6B3C2F8E-1111-4222-8333-0000000000C0";
    const minting = "6b3c2f8e-1111-4222-8333-0000000000a0";
    const c = loadConfig({ ...base, AZURE_CLIENT_ID: control, BROKER_MINTING_CLIENT_ID: minting });
    assert.equal(c.managedIdentityClientId, control.toLowerCase());
    assert.equal(c.mintingClientId, minting);
    assert.equal(loadConfig(base).mintingClientId, undefined);
    assert.match(
      failure({ ...base, AZURE_CLIENT_ID: control, BROKER_MINTING_CLIENT_ID: control.toLowerCase() }),
      /BROKER_MINTING_CLIENT_ID: must differ from AZURE_CLIENT_ID/,
    );
    assert.match(
      failure({ ...base, BROKER_MINTING_CLIENT_ID: "canary-Zq81y" }),
      /BROKER_MINTING_CLIENT_ID: must be a client id GUID/,
    );
  });

  test("rotation must start before the notice window", () => {
    assert.match(
      failure({ ...base, BROKER_NOTICE_DAYS: "10", BROKER_ROTATE_BEFORE_DAYS: "7" }),
      /BROKER_ROTATE_BEFORE_DAYS/,
    );
  });

  test("schedules are six-field NCRONTAB with every field in range", () => {
    assert.equal(
      loadConfig({ ...base, BROKER_NOTICE_SCHEDULE: "*/5 * * * * *" }).noticeSchedule,
      "*/5 * * * * *",
    );
    for (const bad of ["0 0 3 * *", "0 0 99 * * *", "0 61 * * * *", "every day"]) {
      assert.match(
        failure({ ...base, BROKER_ROTATION_SCHEDULE: bad }),
        /BROKER_ROTATION_SCHEDULE: must be a six-field NCRONTAB/,
        bad,
      );
    }
  });
});

describe("notice settings", () => {
  const noticeBase = {
    KEY_VAULT_URL: "https://kv.vault.azure.net",
    BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    BROKER_AUDIENCE: "api://token-broker",
    BROKER_POLICY_FILE: "/policy.json",
  };
  test("BROKER_NOTICE_DAYS takes several thresholds, largest first, below the rotation start", () => {
    assert.deepEqual(loadConfig({ ...noticeBase, BROKER_NOTICE_DAYS: "1, 7" }).noticeDays, [7, 1]);
    assert.deepEqual(loadConfig({ ...noticeBase, BROKER_NOTICE_DAYS: "7,7,3" }).noticeDays, [7, 3]);
    for (const bad of ["0", "7,x", "7,,1", "1,2,3,4,5,6"]) {
      assert.throws(() => loadConfig({ ...noticeBase, BROKER_NOTICE_DAYS: bad }), /BROKER_NOTICE_DAYS/, bad);
    }
    assert.throws(
      () => loadConfig({ ...noticeBase, BROKER_NOTICE_DAYS: "14,1" }),
      /BROKER_ROTATE_BEFORE_DAYS: must be greater than the largest BROKER_NOTICE_DAYS/,
    );
  });

  test("lease storage: a blob service URL first, else the Functions storage connection string", () => {
    const conn =
      "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    assert.deepEqual(loadConfig({ ...noticeBase, AzureWebJobsStorage: conn }).leaseStorage, {
      kind: "connection-string",
      connectionString: conn,
    });
    assert.deepEqual(
      loadConfig({
        ...noticeBase,
        AzureWebJobsStorage: conn,
        AzureWebJobsStorage__blobServiceUri: "https://st.blob.core.windows.net/",
      }).leaseStorage,
      { kind: "service-url", url: "https://st.blob.core.windows.net" },
    );
    const secret = "SECRETKEY123";
    assert.throws(
      () => loadConfig({ ...noticeBase, AzureWebJobsStorage: `junk;${secret}` }),
      (e: Error) => e.message.includes("AzureWebJobsStorage") && !e.message.includes(secret),
    );
  });
});

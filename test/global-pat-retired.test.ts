import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { DEV_USER } from "../src/local/dev-identities.js";
import { randomPat } from "../src/local/sample-data.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import {
  callerToken,
  logsContain,
  startTestStack,
  writePolicy,
  type TestStack,
} from "./support/dev-stack.js";
import { assertOneLineFailure, runCli } from "./support/cli-process.js";

const DAY = 24 * 3600_000;
const NAME = "pat-legacy-global";
const PROFILE = "legacy-global";

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

/**
 * A global PAT the vault still holds (imported before Azure DevOps retired them): listed
 * `retired`, never handed out, its owner told once, and migrated to one organization by rotate.
 */
describe("stored global PATs are retired", () => {
  let stack: TestStack;
  let vault: SecretClient;
  let admin: string;
  let caller: string;
  let globalId: string;
  const globalValue = randomPat();
  const texts: string[] = [];

  async function call(path: string, init: RequestInit = {}, token = admin): Promise<Answer> {
    const res = await stack.api(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    const text = await res.text();
    texts.push(text);
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }
  const notices = () =>
    stack.webhookSink
      .received("/hook")
      .map((r) => r.body as { name: string; reason: string; action: { cli: string; description: string } })
      .filter((n) => n.name === NAME);

  /** A global PAT made before 2026-03-15 (the emulator holds it as such), stored as the broker once did. */
  async function seedGlobal(name: string, value: string): Promise<string> {
    const id = stack.devops.addPat("contoso", {
      token: value,
      ownerObjectId: DEV_USER.objectId,
      displayName: "legacy global PAT",
      scope: "vso.code",
      validTo: new Date(Date.now() + 300 * DAY),
      allOrgs: true,
    });
    await vault.setSecret(name, value, {
      contentType: "application/vnd.azure-devops.pat",
      expiresOn: new Date(Date.now() + 200 * DAY),
      tags: {
        "managed-by": "token-broker",
        kind: "pat",
        owner: "team-legacy@contoso.com",
        org: "*",
        scopes: "vso.code",
        rotation: "manual",
        "lifetime-days": "30",
        "authorization-id": id,
      },
    });
    return id;
  }

  before(async () => {
    const policy = writePolicy({
      profiles: { [PROFILE]: { kind: "pat", description: "a legacy global PAT", secret: NAME } },
      grants: [
        {
          description: "the dev caller gets the legacy profile",
          match: {
            tid: "a1b2c3d4-0000-4000-8000-000000000001",
            appid: "a1b2c3d4-0000-4000-8000-0000000000c1",
          },
          profiles: [PROFILE],
        },
      ],
    });
    stack = await startTestStack({ BROKER_POLICY_FILE: policy, BROKER_NOTICE_DAYS: "7,1" });
    vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    globalId = await seedGlobal(NAME, globalValue);
    // A grant bound to one organization: named when a migration lacks its organization.
    await vault.setSecret("refresh-token-fabrikam", "not-redeemed-in-this-test", {
      contentType: "application/vnd.microsoft.entra.refresh-token",
      expiresOn: new Date(Date.now() + 60 * DAY),
      tags: {
        "managed-by": "token-broker",
        kind: "refresh-token",
        owner: "ops@contoso.com",
        org: "fabrikam",
        rotation: "manual",
        "client-id": "a1b2c3d4-0000-4000-8000-0000000000f1",
        "client-type": "public",
        "last-redeemed": new Date().toISOString(),
      },
    });
    admin = await callerToken(stack, "dev-admin");
    caller = await callerToken(stack);
  });

  after(async () => {
    await stack.close();
    assert.deepEqual(logsContain(stack.logs, [globalValue]), [], "no value in any log line");
    assert.ok(!texts.some((t) => t.includes(globalValue)), "no value in any answer");
  });

  test("listed retired, with the global-pat warning", async () => {
    const item = await call(`/inventory/${NAME}`);
    assert.equal(item.status, 200, item.text);
    assert.equal(item.body["status"], "retired");
    assert.equal(item.body["organization"], "*");
    assert.ok((item.body["warnings"] as string[]).includes("global-pat"));
    const listed = await call("/inventory?status=retired");
    assert.deepEqual(
      (listed.body["items"] as { name: string }[]).map((i) => i.name),
      [NAME],
    );
  });

  test("never handed out: 409 credential_retired, no Retry-After, what to do", async () => {
    const res = await stack.token(caller, { profile: PROFILE });
    const text = await res.text();
    texts.push(text);
    assert.equal(res.status, 409, text);
    assert.equal(res.headers.get("retry-after"), null);
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.equal(body["code"], "credential_retired");
    assert.equal(body["action"], "migrate");
    assert.match(String(body["detail"]), /token-broker rotate NAME --org ORG/);
  });

  test("its owner is told once", async () => {
    const sweep = async () => (await call("/sweeps/notices", { method: "POST" })).body;
    const first = await sweep();
    assert.deepEqual(
      (first["notified"] as { name: string; threshold: unknown }[]).filter((n) => n.name === NAME),
      [{ name: NAME, threshold: "retired" }],
    );
    const [notice, ...more] = notices();
    assert.equal(more.length, 0);
    assert.ok(notice !== undefined);
    assert.equal(notice.reason, "retired");
    assert.equal(notice.action.cli, `token-broker rotate ${NAME} --org ORG`);
    const second = await sweep();
    assert.deepEqual(
      (second["notified"] as { name: string }[]).filter((n) => n.name === NAME),
      [],
    );
    assert.deepEqual(
      (second["alreadyNotified"] as { name: string; threshold: unknown }[]).filter((n) => n.name === NAME),
      [{ name: NAME, threshold: "retired" }],
    );
    assert.equal(notices().length, 1);
  });

  test("rotate without an organization says which to name; a repeated one is refused", async () => {
    const bare = await call(`/inventory/${NAME}/rotate`, { method: "POST" });
    assert.equal(bare.status, 400, bare.text);
    assert.equal(bare.body["code"], "organization_required");
    assert.deepEqual(bare.body["organizations"], ["fabrikam"]);
    const twice = await call(`/inventory/${NAME}/rotate?organization=contoso&organization=fabrikam`, {
      method: "POST",
    });
    assert.equal(twice.status, 400, twice.text);
    assert.equal((await call(`/inventory/${NAME}`)).body["status"], "retired", "unchanged");
  });

  test("rotate with an organization migrates it: a PAT for that organization, same name, global one revoked", async () => {
    const migrated = await call(`/inventory/${NAME}/rotate?organization=contoso`, { method: "POST" });
    assert.equal(migrated.status, 200, migrated.text);
    assert.equal(migrated.body["status"], "rotated");

    const item = await call(`/inventory/${NAME}`);
    assert.equal(item.body["status"], "active", item.text);
    assert.equal(item.body["organization"], "contoso");
    assert.ok(!(item.body["warnings"] as string[]).includes("global-pat"));
    const newId = String(item.body["authorizationId"]);
    assert.notEqual(newId, globalId);

    const upstream = stack.devops.pats("contoso");
    assert.equal(upstream.find((p) => p.authorizationId === globalId)?.status, "revoked");
    assert.equal(upstream.find((p) => p.authorizationId === newId)?.status, "active");

    const res = await stack.token(caller, { profile: PROFILE });
    const text = await res.text();
    texts.push(text);
    assert.equal(res.status, 200, text);
  });

  test("the CLI: rotate without --org names the choice, with --org it migrates", async () => {
    const value = randomPat();
    const id = await seedGlobal("pat-legacy-cli", value);
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };
    const bare = await runCli(["rotate", "pat-legacy-cli"], env);
    assertOneLineFailure(bare, /--org ORG.*grants are bound to: fabrikam \(400 organization_required\)$/m);
    const made = await runCli(["rotate", "pat-legacy-cli", "--org", "contoso"], env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^Migrated pat-legacy-cli to organization contoso: new version /);
    assert.ok(![bare, made].some((r) => (r.stdout + r.stderr).includes(value)));
    assert.equal(stack.devops.pats("contoso").find((p) => p.authorizationId === id)?.status, "revoked");
  });
});

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import {
  AZURE_DEVOPS_RESOURCE,
  DEV_DOWNSTREAM_APP,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
} from "../src/local/dev-identities.js";
import { randomPat } from "../src/local/sample-data.js";
import { httpSender } from "../src/net/http-request.js";
import { driftReportWire, type DriftReportWire } from "../src/wire/drift.js";
import { callerToken, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";
import { runCli } from "./support/cli-process.js";

const DAY = 24 * 3600_000;

/**
 * Issue 15 §2: the drift report against the dev stack's emulators. Credentials are made upstream
 * behind the vault's back (the emulators' test hooks, Graph as the broker's own identity), a
 * broker-made PAT is dropped from the vault, vault credentials point at nothing upstream, and the
 * listings come in pages of two.
 */
describe("GET /api/drift", () => {
  let stack: TestStack;
  let ops: string;
  let admin: string;
  /** PAT and secret values made here: none may appear in an answer or a log line. */
  const canaries: string[] = [];

  before(async () => {
    stack = await startTestStack();
    ops = await callerToken(stack, "dev-ops");
    admin = await callerToken(stack, "dev-admin");
  });
  after(async () => {
    await stack.close();
  });

  const drift = async (query = ""): Promise<{ status: number; text: string; type: string }> => {
    const res = await stack.api(`/drift${query}`, { headers: { authorization: `Bearer ${ops}` } });
    return { status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? "" };
  };
  const report = async (): Promise<DriftReportWire> => {
    const res = await drift();
    assert.equal(res.status, 200, res.text);
    return driftReportWire.parse(JSON.parse(res.text));
  };
  const addPat = (organization: string, displayName: string, scope = "vso.code", allOrgs = false) => {
    const token = randomPat();
    canaries.push(token);
    return stack.devops.addPat(organization, {
      token,
      ownerObjectId: DEV_USER.objectId,
      displayName,
      scope,
      validTo: new Date(Date.now() + 30 * DAY),
      allOrgs,
    });
  };

  test("the dev stack as started has no drift; a caller without Inventory.Read is refused", async () => {
    const r = await report();
    assert.deepEqual(r.unmanagedPats, []);
    assert.deepEqual(r.unmanagedPasswords, []);
    assert.deepEqual(r.missingUpstream, []);
    assert.deepEqual(r.unreadable, []);
    assert.deepEqual(r.checked.organizations, ["contoso"]);
    assert.deepEqual(r.checked.applications, [DEV_DOWNSTREAM_APP.objectId]);
    const caller = await callerToken(stack, "dev-caller");
    const refused = await stack.api("/drift", { headers: { authorization: `Bearer ${caller}` } });
    assert.equal(refused.status, 403);
  });

  test("finds PATs and passwords made behind the vault's back, over several pages; flags a lost broker PAT", async () => {
    const call = (path: string, method: string, body?: unknown) =>
      stack.api(path, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    // The broker makes a PAT (its marker in the display name), then the vault loses it.
    const made = await call("/inventory/lost-pat", "PUT", {
      kind: "pat",
      owner: "team@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      rotation: "auto",
      lifetimeDays: 30,
    });
    assert.equal(made.status, 201, await made.text());
    const lostId = ((await (await call("/inventory/lost-pat", "GET")).json()) as { authorizationId: string })
      .authorizationId;
    assert.equal((await call("/inventory/lost-pat?upstream=skip", "DELETE")).status, 200);

    const laptop = addPat("contoso", "laptop clone");
    const global = addPat("contoso", '=HYPERLINK("https://evil")', "vso.code", true);
    const full = addPat("contoso", "full access", "app_token");
    for (let i = 0; i < 3; i++) addPat("contoso", `filler ${i}`);
    const passwords = new ApplicationPasswordsClient({
      baseUrl: stack.config.graphUrl,
      credential: new ManagedIdentityCredential({
        clientId: stack.identities.control.clientId,
        retryOptions: { maxRetries: 0 },
      }),
      send: httpSender({ extraCa: readFileSync(stack.caFile, "utf8"), devStack: true }),
    });
    const added = await passwords.addPassword(DEV_DOWNSTREAM_APP.objectId, {
      displayName: "added by hand",
      endDateTime: new Date(Date.now() + 90 * DAY),
    });
    canaries.push(added.secretText);
    // Vault credentials whose upstream is gone.
    const gonePat = randomUUID();
    const goneKey = randomUUID();
    const managed = { "managed-by": "token-broker", owner: "team@contoso.com", rotation: "manual" };
    stack.keyVault.seed("pat-gone", randomPat(), {
      tags: { ...managed, kind: "pat", org: "contoso", "authorization-id": gonePat },
    });
    stack.keyVault.seed("secret-gone", "a-value-the-test-never-checks-0000", {
      tags: {
        ...managed,
        kind: "client-secret",
        "application-object-id": DEV_DOWNSTREAM_APP.objectId,
        "client-id": DEV_DOWNSTREAM_APP.clientId,
        "key-id": goneKey,
      },
    });

    stack.devops.setPageLimit(2);
    stack.devops.resetStats();
    stack.graph.resetStats();
    const r = await report();
    stack.devops.setPageLimit(undefined);
    // The three sample PATs and the 7 made here, in pages of 2; one Graph read for the one app.
    const active = stack.devops
      .pats("contoso")
      .filter((p) => p.status === "active" && p.ownerObjectId === DEV_USER.objectId).length;
    assert.equal(active, 10);
    assert.equal(stack.devops.stats().byOperation.list, Math.ceil(active / 2));
    assert.equal(stack.graph.stats().requests, 1);

    const byId = new Map(r.unmanagedPats.map((p) => [p.authorizationId, p]));
    assert.equal(r.unmanagedPats.length, 7);
    const lost = byId.get(lostId);
    assert.equal(lost?.severity, "high");
    assert.equal(lost.marker, "this-deployment");
    assert.equal(lost.markedCredential, "lost-pat");
    assert.equal(r.unmanagedPats[0]?.authorizationId, lostId, "the worst case comes first");
    assert.deepEqual(
      [byId.get(laptop)?.severity, byId.get(laptop)?.global, byId.get(laptop)?.fullScope],
      ["low", false, false],
    );
    assert.deepEqual([byId.get(global)?.severity, byId.get(global)?.global], ["medium", true]);
    assert.deepEqual([byId.get(full)?.severity, byId.get(full)?.fullScope], ["medium", true]);
    assert.deepEqual(byId.get(full)?.scopes, ["app_token"]);
    assert.equal(byId.get(laptop)?.grant, "refresh-token-pat-owner");

    assert.equal(r.unmanagedPasswords.length, 1);
    const pw = r.unmanagedPasswords[0];
    assert.equal(pw?.keyId, added.keyId);
    assert.equal(pw.displayName, "added by hand");
    assert.equal(pw.hint, added.secretText.slice(0, 3));
    assert.equal(pw.severity, "low");
    assert.equal(pw.endDateTime, added.endDateTime.toISOString());

    assert.deepEqual(
      r.missingUpstream.map((m) => [m.name, m.kind, m.upstreamId]),
      [
        ["pat-gone", "pat", gonePat],
        ["secret-gone", "client-secret", goneKey],
      ],
    );
    assert.deepEqual(r.unreadable, []);

    const csv = await drift("?format=csv");
    assert.equal(csv.status, 200);
    assert.match(csv.type, /^text\/csv/);
    const lines = csv.text.split("\r\n");
    assert.match(lines[0] ?? "", /^finding,severity,source,organization,applicationObjectId,name,upstreamId/);
    assert.equal(lines.filter((l) => l.startsWith("unmanaged-pat,")).length, 7);
    assert.equal(lines.filter((l) => l.startsWith("missing-upstream,")).length, 2);
    // The formula-injection guard of the inventory's CSV writer.
    assert.ok(csv.text.includes(`"'=HYPERLINK(""https://evil"")"`), csv.text);

    for (const text of [JSON.stringify(r), csv.text]) {
      assert.deepEqual(
        canaries.filter((c) => text.includes(c)),
        [],
      );
      assert.ok(!text.includes("secretText"));
    }
    assert.deepEqual(logsContain(stack.logs, [...canaries, "secretText"]), []);
    assert.ok(stack.logs.some((l) => l.includes('"drift.report"')));
    assert.ok(stack.logs.some((l) => l.includes('"audit.inventory"') && l.includes('"drift"')));
  });

  test("a grant whose refresh token was revoked, and a Graph outage: a partial report, not a failure", async () => {
    // A second grant, for fabrikam only, then every refresh token of its user is revoked. The
    // contoso grant is given a new one after that (its user consented again).
    const scope = `${AZURE_DEVOPS_RESOURCE}/.default offline_access`;
    const grantTags = {
      "managed-by": "token-broker",
      kind: "refresh-token",
      owner: DEV_USER.userPrincipalName,
      rotation: "manual",
      "client-id": DEV_PUBLIC_CLIENT.clientId,
      "client-type": "public",
      "last-redeemed": new Date().toISOString(),
    };
    const revoked = stack.entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, scope);
    canaries.push(revoked);
    stack.keyVault.seed("refresh-token-fabrikam", revoked, { tags: { ...grantTags, org: "fabrikam" } });
    addPat("fabrikam", "not seen: its grant is revoked");
    stack.entra.revokeRefreshTokens(DEV_USER.objectId);
    const fresh = stack.entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, scope);
    canaries.push(fresh);
    stack.keyVault.seed("refresh-token-pat-owner", fresh, { tags: grantTags });
    stack.graph.injectFault({ status: 503, count: 1, operation: "getApplication" });

    const r = await report();
    assert.deepEqual(r.checked.organizations, ["contoso", "fabrikam"]);
    assert.deepEqual(
      r.unreadable.map((u) => [u.source, u.organization ?? u.applicationObjectId, u.grant, u.code]),
      [
        ["azure-devops", "fabrikam", "refresh-token-fabrikam", "rotator_grant_grant_refused"],
        ["graph", DEV_DOWNSTREAM_APP.objectId, undefined, "graph_listPasswords_unavailable"],
      ],
    );
    assert.match(r.unreadable[0]?.detail ?? "", /consent again/);
    // What could be read still stands: contoso's PATs; the app's passwords are not guessed at.
    assert.equal(r.unmanagedPats.length, 7);
    assert.ok(r.unmanagedPats.every((p) => p.organization === "contoso"));
    assert.deepEqual(r.unmanagedPasswords, []);
    assert.deepEqual(
      r.missingUpstream.map((m) => m.name),
      ["pat-gone"],
    );
    assert.deepEqual(logsContain(stack.logs, canaries), []);
  });

  test("the CLI: a table by default, the broker's JSON and CSV on request", async () => {
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: ops };
    const table = await runCli(["drift"], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /PATs upstream the vault does not know \(7\)/);
    assert.match(table.stdout, /high +contoso +token-broker:/);
    assert.match(table.stdout, /Could not be read \(\d\)/);
    const json = await runCli(["drift", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    const parsed = driftReportWire.parse(JSON.parse(json.stdout));
    assert.equal(parsed.unmanagedPats.length, 7);
    const csv = await runCli(["drift", "--csv"], env);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /^finding,severity,/);
    for (const out of [table.stdout, json.stdout, csv.stdout]) {
      assert.deepEqual(
        canaries.filter((c) => out.includes(c)),
        [],
      );
    }
    const both = await runCli(["drift", "--json", "--csv"], env);
    assert.equal(both.code, 2);
  });
});

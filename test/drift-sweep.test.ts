import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { DRIFT_STATE_SECRET } from "../src/drift/drift-watch.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import {
  AZURE_DEVOPS_RESOURCE,
  DEV_DOWNSTREAM_APP,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
} from "../src/local/dev-identities.js";
import { randomPat } from "../src/local/sample-data.js";
import { httpSender } from "../src/net/http-request.js";
import { rotationReportWire, type RotationReportWire } from "../src/wire/sweep-reports.js";
import { runCli } from "./support/cli-process.js";
import { callerToken, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

interface DriftNoticeBody {
  id: string;
  type: string;
  finding: string;
  name: string;
  owner: string | null;
  upstreamId: string;
  action: { cli: string };
}

/**
 * Issue 15 §3: the rotation sweep carries the drift counts, and tells each new finding's owner
 * once (the grant's owner for a PAT upstream, the app credential's owner for a password, the
 * credential's own owner when its upstream is gone), however many sweeps run.
 */
describe("drift in the rotation sweep", () => {
  let stack: TestStack;
  let admin: string;
  /** Credential values made here: none may reach a notice, a report or a log line. */
  const canaries: string[] = [];

  before(async () => {
    stack = await startTestStack();
    admin = await callerToken(stack, "dev-admin");
  });
  after(() => stack.close());

  const sweep = async (): Promise<RotationReportWire> => {
    const res = await stack.api("/sweeps/rotation", {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(
      canaries.filter((c) => text.includes(c)),
      [],
    );
    return rotationReportWire.parse(JSON.parse(text));
  };
  const driftNotices = () =>
    stack.webhookSink
      .received("/hook")
      .map((r) => r.body as DriftNoticeBody)
      .filter((n) => n.type === "token-broker.drift-notice");
  const addPat = (organization: string, displayName: string) => {
    const token = randomPat();
    canaries.push(token);
    return stack.devops.addPat(organization, {
      token,
      ownerObjectId: DEV_USER.objectId,
      displayName,
      scope: "vso.code",
      validTo: new Date(Date.now() + 30 * DAY),
    });
  };

  test("no drift on the test stack: zero counts, no notice, and the state is not written", async () => {
    const r = await sweep();
    assert.deepEqual(
      [r.drift?.unmanagedPats, r.drift?.unmanagedPasswords, r.drift?.missingUpstream, r.drift?.notified],
      [0, 0, 0, 0],
    );
    assert.deepEqual(driftNotices(), []);
    await assert.rejects(stack.runtime.store.getSecret(DRIFT_STATE_SECRET), /not found|NotFound/i);
  });

  test("each finding is told once, to its owner; a second sweep tells nobody; a new one is told", async () => {
    const first = addPat("contoso", "made by hand");
    const second = addPat("contoso", "made by hand, too");
    const passwords = new ApplicationPasswordsClient({
      baseUrl: stack.config.graphUrl,
      credential: new ManagedIdentityCredential({
        clientId: stack.identities.control.clientId,
        retryOptions: { maxRetries: 0 },
      }),
      send: httpSender({ extraCa: readFileSync(stack.caFile, "utf8"), devStack: true }),
    });
    const added = await passwords.addPassword(DEV_DOWNSTREAM_APP.objectId, {
      displayName: "added outside the broker",
      endDateTime: new Date(Date.now() + 90 * DAY),
    });
    canaries.push(added.secretText);
    const goneId = randomUUID();
    stack.keyVault.seed("pat-gone", randomPat(), {
      tags: {
        "managed-by": "token-broker",
        kind: "pat",
        owner: "team-gone@contoso.com",
        rotation: "manual",
        org: "contoso",
        "authorization-id": goneId,
      },
    });

    const r = await sweep();
    assert.deepEqual(
      [r.drift?.unmanagedPats, r.drift?.unmanagedPasswords, r.drift?.missingUpstream, r.drift?.high],
      [2, 1, 1, 0],
    );
    assert.equal(r.drift?.notified, 4);
    const told = driftNotices();
    assert.deepEqual(
      told.map((n) => [n.finding, n.upstreamId, n.name, n.owner]).sort(),
      [
        ["missing-upstream", goneId, "pat-gone", "team-gone@contoso.com"],
        ["unmanaged-password", added.keyId, "app-downstream-secret", "team-platform@contoso.com"],
        ["unmanaged-pat", first, "refresh-token-pat-owner", DEV_USER.userPrincipalName],
        ["unmanaged-pat", second, "refresh-token-pat-owner", DEV_USER.userPrincipalName],
      ].sort(),
    );
    assert.ok(told.every((n) => n.action.cli.startsWith("token-broker ")));

    const again = await sweep();
    assert.equal(again.drift?.unmanagedPats, 2, "still there");
    assert.equal(again.drift.notified, 0, "but told already");
    assert.equal(driftNotices().length, 4);

    const third = addPat("contoso", "one more");
    const later = await sweep();
    assert.equal(later.drift?.notified, 1);
    assert.deepEqual(
      driftNotices()
        .slice(4)
        .map((n) => n.upstreamId),
      [third],
    );
    const text = JSON.stringify(stack.webhookSink.received());
    assert.deepEqual(
      canaries.filter((c) => text.includes(c)),
      [],
    );
    assert.deepEqual(logsContain(stack.logs, canaries), []);
  });

  test("a notice that fails to deliver is sent again by the next sweep, once", async () => {
    const id = addPat("contoso", "told on the second try");
    stack.webhookSink.failNext(400, 1); // a 4xx is not retried within the send
    const failed = await sweep();
    assert.deepEqual([failed.drift?.notified, failed.drift?.notifyFailed], [0, 1]);
    const retried = await sweep();
    assert.deepEqual([retried.drift?.notified, retried.drift?.notifyFailed], [1, 0]);
    assert.equal(driftNotices().filter((n) => n.upstreamId === id).length, 1);
    assert.equal((await sweep()).drift?.notified, 0);
  });

  test("a revoked grant: the sweep succeeds with partial counts and says what it could not read", async () => {
    const scope = `${AZURE_DEVOPS_RESOURCE}/.default offline_access`;
    const revoked = stack.entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, scope);
    canaries.push(revoked);
    stack.keyVault.seed("refresh-token-fabrikam", revoked, {
      tags: {
        "managed-by": "token-broker",
        kind: "refresh-token",
        owner: DEV_USER.userPrincipalName,
        rotation: "manual",
        org: "fabrikam",
        "client-id": DEV_PUBLIC_CLIENT.clientId,
        "client-type": "public",
        "last-redeemed": new Date().toISOString(),
      },
    });
    addPat("fabrikam", "not seen: its grant is revoked");
    stack.entra.revokeRefreshTokens(DEV_USER.objectId);
    const fresh = stack.entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, scope);
    canaries.push(fresh);
    const owner = await stack.runtime.store.getProperties("refresh-token-pat-owner");
    stack.keyVault.seed("refresh-token-pat-owner", fresh, { tags: owner.tags });

    const r = await sweep();
    assert.deepEqual(r.drift?.unreadable, ["rotator_grant_grant_refused"]);
    assert.equal(r.drift.unmanagedPats, 4, "contoso's still counted");
    assert.equal(r.drift.notified, 0, "nothing new could be seen");

    const cli = await runCli(["sweep", "rotation"], {
      TOKEN_BROKER_URL: stack.brokerUrl,
      TOKEN_BROKER_TOKEN: admin,
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /drift: 4 PATs and 1 app passwords upstream the vault does not know \(0 high\), 1 vault credentials gone upstream; could not read 1/,
    );
    assert.deepEqual(logsContain(stack.logs, canaries), []);
  });
});

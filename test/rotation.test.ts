import { azureIdentityMinter } from "../src/entra/azure-identity-minter.js";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ClientSecretCredential, ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { checkPat } from "../src/devops/pat-check.js";
import { DEV_DOWNSTREAM_APP, DEV_USER } from "../src/local/dev-identities.js";
import { randomPat } from "../src/local/sample-data.js";
import { deploymentIdOf } from "../src/rotation/marker.js";
import { extraCaPolicy } from "../src/net/extra-ca-policy.js";
import { httpSender } from "../src/net/http-request.js";
import { SimulatedCrash, type RotationStep } from "../src/rotation/rotation-error.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { CredentialIssuer } from "../src/issuance/credential-issuer.js";
import { issuableSecret } from "../src/inventory/verify-pending.js";
import type { Profile } from "../src/policy/schema.js";
import { callerToken, knownPat, logsContain, startTestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;
const MIN = 60_000;

interface Report {
  rotated: { name: string }[];
  revoked: { name: string; upstreamId: string; outcome: string }[];
  orphansRevoked: { name: string; upstreamId: string }[];
  failed: { name: string; reason: string }[];
}

/** A dev stack with an admin token, a vault client and helpers for rotation tests. */
async function rotationStack(
  env: Record<string, string> = {},
  options: Parameters<typeof startTestStack>[1] = {},
) {
  const stack = await startTestStack(env, {
    rotationVerify: { retryDelaysMs: [] },
    ...options,
  });
  const admin = await callerToken(stack, "dev-admin");
  const ca = readFileSync(stack.caFile, "utf8");
  const vault = new SecretClient(
    stack.keyVault.url,
    new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
    keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
  );
  const send = httpSender({ extraCa: ca, devStack: true });
  const texts: string[] = [];
  const call = async (path: string, method = "GET", body?: unknown) => {
    const res = await stack.api(path, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    texts.push(text);
    return { status: res.status, json: () => JSON.parse(text) as Record<string, unknown>, text };
  };
  const h = {
    stack,
    vault,
    texts,
    call,
    /** A broker-made PAT (PUT without a value): created upstream, proven, stored; no person sees it. */
    createPat: async (name: string, lifetimeDays = 30) => {
      const res = await call(`/inventory/${name}`, "PUT", {
        kind: "pat",
        owner: "team@contoso.com",
        organization: "contoso",
        scopes: ["vso.code"],
        rotation: "auto",
        lifetimeDays,
      });
      assert.equal(res.status, 201, res.text);
      return res.json();
    },
    /** Brings the credential into the rotation window (expires in `days`). */
    expireIn: async (name: string, days: number) => {
      const res = await call(`/inventory/${name}`, "PUT", {
        kind: "pat",
        expiresOn: new Date(Date.now() + days * DAY).toISOString(),
      });
      assert.equal(res.status, 200, res.text);
    },
    sweep: async () => {
      const res = await call("/sweeps/rotation", "POST");
      assert.equal(res.status, 200, res.text);
      return res.json() as unknown as Report;
    },
    /** The vault's current value, proven against the Azure DevOps emulator. */
    currentWorks: async (name: string) => {
      const secret = await vault.getSecret(name);
      return (await checkPat("contoso", secret.value ?? "", { baseUrl: stack.devops.url, send })).valid;
    },
    /** Active upstream PATs the broker made for this credential (our marker in the display name). */
    activeFor: (name: string) =>
      stack.devops
        .pats("contoso")
        .filter((p) => p.status === "active" && p.displayName.split(":")[2] === name)
        .map((p) => p.authorizationId),
    tag: async (name: string, tag: string) => (await vault.getSecret(name)).properties.tags?.[tag],
    /** A broker-made client secret of the downstream app (PUT without a value). */
    createAppSecret: async (name: string) => {
      const res = await call(`/inventory/${name}`, "PUT", {
        kind: "client-secret",
        owner: "team@contoso.com",
        applicationObjectId: DEV_DOWNSTREAM_APP.objectId,
        clientId: DEV_DOWNSTREAM_APP.clientId,
        rotation: "manual",
        lifetimeDays: 30,
      });
      assert.equal(res.status, 201, res.text);
      return res.json();
    },
    /** The downstream app's passwords that carry this credential's marker. */
    passwordsOf: (name: string) =>
      stack.graph
        .passwords(DEV_DOWNSTREAM_APP.objectId)
        .filter((p) => (p.displayName ?? "").split(":")[2] === name)
        .map((p) => p.keyId)
        .sort(),
    /** Whether Entra (on the stack's clock) accepts a client-credentials request with the secret now. */
    entraAccepts: async (secret: string) => {
      const credential = new ClientSecretCredential(
        stack.config.tenantId,
        DEV_DOWNSTREAM_APP.clientId,
        secret,
        {
          authorityHost: stack.entra.url,
          disableInstanceDiscovery: true,
          retryOptions: { maxRetries: 0 },
          additionalPolicies: [{ policy: extraCaPolicy(ca), position: "perCall" }],
        },
      );
      return credential.getToken(`${stack.graph.url}/.default`).then(
        () => true,
        () => false,
      );
    },
    latest: async (name: string) => (await vault.getSecret(name)).value ?? "",
    issuable: async (name: string) => (await issuableSecret(stack.runtime.store, name)).value,
    runSweep: async () => {
      const outcome = await stack.runtime.rotation.sweep("route");
      assert.ok(outcome.acquired);
      return outcome.value;
    },
    values: async (name: string) => {
      const out: string[] = [];
      for await (const v of vault.listPropertiesOfSecretVersions(name)) {
        if (v.version !== undefined)
          out.push((await vault.getSecret(name, { version: v.version })).value ?? "");
      }
      return out;
    },
  };
  return h;
}

describe("rotation on the dev stack (grace 60 minutes)", () => {
  let h: Awaited<ReturnType<typeof rotationStack>>;
  before(async () => {
    h = await rotationStack();
  });
  after(async () => {
    await h.stack.close();
  });

  test("a broker-made PAT: one organization, the recorded scopes, a marker, and it works", async () => {
    const item = await h.createPat("pat-made");
    const authorizationId = item["authorizationId"] as string;
    assert.ok(authorizationId);
    assert.equal(item["value"], undefined);
    const upstream = h.stack.devops.pats("contoso").find((p) => p.authorizationId === authorizationId);
    assert.equal(upstream?.scope, "vso.code");
    // The marker names this deployment (a digest of its vault URL) and the credential.
    assert.match(upstream.displayName, /^token-broker:[0-9a-f]{8}:pat-made:\d{4}-\d{2}-\d{2}$/);
    assert.ok(await h.currentWorks("pat-made"));
    assert.ok(!h.stack.devops.pats("fabrikam").some((p) => p.authorizationId === authorizationId));
  });

  test("rotate now: a new working version; the old PAT stays valid through the grace period", async () => {
    await h.createPat("pat-now");
    const old = (await h.call("/inventory/pat-now")).json();
    const res = await h.call("/inventory/pat-now/rotate", "POST");
    assert.equal(res.status, 200, res.text);
    const now = (await h.call("/inventory/pat-now")).json();
    assert.notEqual(now["version"], old["version"]);
    assert.notEqual(now["authorizationId"], old["authorizationId"]);
    assert.equal(now["status"], "pending-revoke");
    assert.ok(now["rotatedOn"]);
    assert.ok(await h.currentWorks("pat-now"));
    // Not revoked before its grace: callers that cached the old PAT keep working.
    const report = await h.sweep();
    assert.ok(!report.revoked.some((r) => r.name === "pat-now"));
    assert.deepEqual(h.activeFor("pat-now").sort(), [old["authorizationId"], now["authorizationId"]].sort());
    assert.equal((await h.call("/inventory/no-such/rotate", "POST")).status, 404);
  });

  test("revoking a rotated credential also revokes its predecessor still in its grace", async () => {
    await h.createPat("pat-gone");
    assert.equal((await h.call("/inventory/pat-gone/rotate", "POST")).status, 200);
    assert.equal(h.activeFor("pat-gone").length, 2);
    const res = await h.call("/inventory/pat-gone", "DELETE");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json()["upstreamRevocation"], "revoked");
    assert.deepEqual(h.activeFor("pat-gone"), []);
  });

  test("pending revocations are never dropped: a sixth rotation within the grace waits", async () => {
    await h.createPat("pat-busy");
    for (let i = 0; i < 5; i++) {
      const res = await h.call("/inventory/pat-busy/rotate", "POST");
      assert.equal(res.status, 200, res.text);
    }
    const sixth = await h.call("/inventory/pat-busy/rotate", "POST");
    assert.equal(sixth.status, 409, sixth.text);
    assert.equal(sixth.json()["code"], "pending_revoke_full");
    // All six live: the current one and five that wait out their grace.
    assert.equal(h.activeFor("pat-busy").length, 6);
    assert.ok(await h.currentWorks("pat-busy"));
  });

  test("a marked PAT younger than the grace is left alone (a rotation may still be under way)", async () => {
    const deployment = deploymentIdOf(h.stack.keyVault.url);
    const id = h.stack.devops.addPat("contoso", {
      token: randomPat(),
      ownerObjectId: DEV_USER.objectId,
      displayName: `token-broker:${deployment}:pat-in-flight:2026-11-26`,
      scope: "vso.code",
      validTo: new Date(Date.now() + 30 * DAY),
    });
    const report = await h.sweep();
    assert.ok(!report.orphansRevoked.some((o) => o.upstreamId === id));
    assert.equal(h.stack.devops.pats("contoso").find((p) => p.authorizationId === id)?.status, "active");
  });

  test("a credential with revocations pending cannot move to another organization", async () => {
    await h.createPat("pat-moving");
    assert.equal((await h.call("/inventory/pat-moving/rotate", "POST")).status, 200);
    const moved = await h.call("/inventory/pat-moving", "PUT", { kind: "pat", organization: "fabrikam" });
    assert.equal(moved.status, 400, moved.text);
    assert.match(moved.text, /"field":"organization"/);
    assert.equal((await h.call("/inventory/pat-moving")).json()["organization"], "contoso");
  });

  test("the sweep rotates what is due and leaves the rest", async () => {
    await h.createPat("pat-due");
    await h.createPat("pat-later");
    await h.expireIn("pat-due", 5);
    const report = await h.sweep();
    const rotated = report.rotated.map((r) => r.name);
    assert.ok(rotated.includes("pat-due"), JSON.stringify(report));
    assert.ok(!rotated.includes("pat-later"));
    // Manual credentials are never rotated, whatever their date.
    assert.ok(!rotated.includes("pat-contoso-nuget"));
    const again = await h.sweep();
    assert.ok(!again.rotated.some((r) => r.name === "pat-due"), "rotated once, not on every sweep");
    assert.ok(await h.currentWorks("pat-due"));
  });

  test("concurrent sweeps rotate a credential exactly once", async () => {
    await h.createPat("pat-race");
    await h.expireIn("pat-race", 3);
    const before = h.activeFor("pat-race").length;
    const answers = await Promise.all([
      h.call("/sweeps/rotation", "POST"),
      h.call("/sweeps/rotation", "POST"),
      h.call("/sweeps/rotation", "POST"),
    ]);
    const ok = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 409);
    assert.equal(ok.length + busy.length, 3);
    for (const b of busy) assert.equal(b.json()["code"], "sweep_in_progress");
    const rotations = ok
      .flatMap((a) => (a.json() as unknown as Report).rotated)
      .filter((r) => r.name === "pat-race");
    assert.equal(rotations.length, 1);
    assert.equal(h.activeFor("pat-race").length, before + 1);
  });

  test("upstream refusals are reported, tagged rotation-failed, and raise a notice at once", async () => {
    await h.createPat("pat-refused");
    await h.expireIn("pat-refused", 4);
    h.stack.devops.injectFault({ status: 403, count: 1, operation: "create" });
    const report = await h.sweep();
    h.stack.devops.clearFaults();
    const failure = report.failed.find((f) => f.name === "pat-refused");
    assert.equal(failure?.reason, "devops_create_forbidden");
    const item = (await h.call("/inventory/pat-refused")).json();
    assert.equal(item["status"], "rotation-failed");
    assert.equal(item["rotationError"], "devops_create_forbidden");
    assert.ok(await h.currentWorks("pat-refused"), "the stored PAT still works");
    const notices = await h.call("/sweeps/notices", "POST");
    assert.equal(notices.status, 200, notices.text);
    assert.ok(
      h.stack.webhookSink
        .received("/hook")
        .some((n) => (n.body as { name: string; reason: string }).name === "pat-refused"),
    );
    // The next sweep succeeds and clears the failure.
    const retry = await h.sweep();
    assert.ok(
      retry.rotated.some((r) => r.name === "pat-refused"),
      JSON.stringify(retry),
    );
    assert.equal((await h.call("/inventory/pat-refused")).json()["status"], "pending-revoke");
  });

  test("a lifetime the organization's policy refuses maps to its patTokenError", async () => {
    const res = await h.call("/inventory/pat-too-long", "PUT", {
      kind: "pat",
      owner: "team@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      lifetimeDays: 366,
    });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json()["reason"], "devops_create_rejected_patLifespanPolicyViolation");
    assert.equal((await h.call("/inventory/pat-too-long")).status, 404);
  });

  test("a client secret Entra accepts at once is rotated through Graph in one pass", async () => {
    h.stack.graph.setPropagationDelay(0);
    const before = (await h.call("/inventory/app-downstream-secret")).json();
    const res = await h.call("/inventory/app-downstream-secret/rotate", "POST");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json()["status"], "rotated");
    const item = (await h.call("/inventory/app-downstream-secret")).json();
    assert.notEqual(item["keyId"], before["keyId"]);
    assert.equal(item["status"], "pending-revoke");
    assert.equal(item["pendingVerificationSince"], undefined);
    const keys = h.stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId);
    assert.ok(keys.includes(item["keyId"] as string));
    assert.ok(keys.includes(before["keyId"] as string), "the old secret waits out its grace");
  });

  test("no secret value in any answer, report or log line", async () => {
    const values = [
      ...(await h.values("pat-made")),
      ...(await h.values("pat-now")),
      ...(await h.values("app-downstream-secret")),
    ];
    assert.ok(values.length >= 5);
    assert.deepEqual(logsContain(h.stack.logs, values), []);
    assert.deepEqual(
      values.filter((v) => h.texts.some((t) => t.includes(v))),
      [],
    );
  });
});

describe("client secrets across Entra's propagation delay (fake clock)", () => {
  let offset = 0;
  const advance = (ms: number) => {
    offset += ms;
  };
  let h: Awaited<ReturnType<typeof rotationStack>>;
  before(async () => {
    h = await rotationStack({}, { now: () => Date.now() + offset });
  });
  after(async () => {
    await h.stack.close();
  });

  test("the dev stack's emulators model propagation by default", async () => {
    const made = await h.createAppSecret("app-default-delay");
    assert.equal(made["status"], "pending-verification", "refused at first, as Entra does");
    advance(4 * MIN);
    const report = await h.runSweep();
    assert.ok(
      report.rotated.some((r) => r.name === "app-default-delay"),
      JSON.stringify(report),
    );
  });

  test("one Entra accepts only after minutes is kept, the proven one handed out, then promoted", async () => {
    h.stack.graph.setPropagationDelay(0);
    const before = await h.createAppSecret("app-slow");
    assert.equal(before["status"], "active");
    const old = await h.latest("app-slow");
    h.stack.graph.setPropagationDelay(5 * MIN);

    const res = await h.call("/inventory/app-slow/rotate", "POST");
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json()["status"], "pending-verification");
    const pending = (await h.call("/inventory/app-slow")).json();
    assert.equal(pending["status"], "pending-verification");
    assert.ok(pending["pendingVerificationSince"]);
    assert.equal(pending["version"], res.json()["version"]);
    assert.notEqual(pending["keyId"], before["keyId"]);
    assert.deepEqual(h.passwordsOf("app-slow"), [before["keyId"], pending["keyId"]].sort(), "both live");
    // The vault holds the new secret, which Entra refuses yet; callers still get the proven one.
    const fresh = await h.latest("app-slow");
    assert.notEqual(fresh, old);
    assert.equal(await h.entraAccepts(fresh), false);
    assert.equal(await h.issuable("app-slow"), old);
    const issuer = new CredentialIssuer({
      store: h.stack.runtime.store,
      minter: azureIdentityMinter({
        authorityHost: h.stack.entra.url,
        extraCa: readFileSync(h.stack.caFile, "utf8"),
      }),
      identities: {
        controlClientId: h.stack.config.managedIdentityClientId,
        mintingClientId: h.stack.config.mintingClientId,
      },
      now: () => Date.now() + offset,
    });
    const profile = {
      kind: "entra",
      scope: `${h.stack.graph.url}/.default`,
      credential: {
        type: "client-secret",
        tenantId: h.stack.config.tenantId,
        clientId: DEV_DOWNSTREAM_APP.clientId,
        secret: "app-slow",
      },
    } as Profile;
    assert.ok((await issuer.issue("graph-slow", profile)).token, "minted with the proven secret");

    // A pass within the window: one quick try, still refused, kept; rotate-now adds no password.
    advance(2 * MIN);
    const early = await h.runSweep();
    assert.ok(
      early.pending.some((p) => p.name === "app-slow"),
      JSON.stringify(early),
    );
    assert.ok(!early.rotated.some((r) => r.name === "app-slow"));
    assert.ok(!early.failed.some((f) => f.name === "app-slow"));
    const again = await h.call("/inventory/app-slow/rotate", "POST");
    assert.equal(again.status, 202, again.text);
    assert.equal(again.json()["version"], pending["version"]);
    assert.equal(h.passwordsOf("app-slow").length, 2);

    advance(4 * MIN);
    const late = await h.runSweep();
    assert.deepEqual(
      late.rotated.filter((r) => r.name === "app-slow"),
      [{ name: "app-slow", version: pending["version"] }],
    );
    const promoted = (await h.call("/inventory/app-slow")).json();
    assert.equal(promoted["status"], "pending-revoke");
    assert.equal(promoted["pendingVerificationSince"], undefined);
    assert.ok(promoted["rotatedOn"]);
    assert.equal(await h.issuable("app-slow"), fresh);
    assert.ok(await h.entraAccepts(fresh));
    assert.match((await h.tag("app-slow", "pending-revoke")) ?? "", new RegExp(before["keyId"] as string));
    assert.equal(await h.tag("app-slow", "verify-pending"), undefined);
  });

  test("accepted after 15 minutes: promoted; never accepted: removed after 20 and reported", async () => {
    h.stack.graph.setPropagationDelay(0);
    const quick = await h.createAppSecret("app-15");
    const never = await h.createAppSecret("app-never");
    const neverOld = await h.latest("app-never");
    h.stack.graph.setPropagationDelay(15 * MIN);
    assert.equal((await h.call("/inventory/app-15/rotate", "POST")).status, 202);
    h.stack.graph.setPropagationDelay(24 * 60 * MIN);
    assert.equal((await h.call("/inventory/app-never/rotate", "POST")).status, 202);
    const neverNew = (await h.call("/inventory/app-never")).json()["keyId"];

    advance(14 * MIN);
    const first = await h.runSweep();
    assert.deepEqual(
      first.pending
        .map((p) => p.name)
        .filter((n) => n === "app-15" || n === "app-never")
        .sort(),
      ["app-15", "app-never"],
    );
    advance(2 * MIN);
    const second = await h.runSweep();
    assert.ok(
      second.rotated.some((r) => r.name === "app-15"),
      JSON.stringify(second),
    );
    assert.ok(second.pending.some((p) => p.name === "app-never"));
    assert.equal((await h.call("/inventory/app-15")).json()["status"], "pending-revoke");
    assert.notEqual((await h.call("/inventory/app-15")).json()["keyId"], quick["keyId"]);

    advance(5 * MIN);
    const third = await h.runSweep();
    assert.deepEqual(
      third.failed.filter((f) => f.name === "app-never"),
      [{ name: "app-never", reason: "new_secret_not_accepted" }],
    );
    // Removed upstream; the proven secret is current again and still works.
    assert.deepEqual(h.passwordsOf("app-never"), [never["keyId"]]);
    assert.ok(!h.passwordsOf("app-never").includes(neverNew as string));
    const item = (await h.call("/inventory/app-never")).json();
    assert.equal(item["status"], "rotation-failed");
    assert.equal(item["rotationError"], "new_secret_not_accepted");
    assert.equal(item["keyId"], never["keyId"]);
    assert.equal(await h.latest("app-never"), neverOld);
    assert.equal(await h.issuable("app-never"), neverOld);
    assert.ok(await h.entraAccepts(neverOld));
    // Reported to the owner as every rotation failure is.
    const notices = await h.stack.runtime.notices.run("route");
    assert.ok(notices.acquired);
    assert.ok(
      h.stack.webhookSink
        .received("/hook")
        .some((n) => (n.body as { name: string; reason: string }).name === "app-never"),
    );
    const fourth = await h.runSweep();
    assert.ok(!fourth.failed.some((f) => f.name === "app-never"), "reported once, not on every sweep");
    assert.deepEqual(h.passwordsOf("app-never"), [never["keyId"]]);
  });

  test("a credential the broker makes while Entra is slow is stored pending, then promoted", async () => {
    h.stack.graph.setPropagationDelay(5 * MIN);
    const made = await h.createAppSecret("app-made-slow");
    assert.equal(made["status"], "pending-verification");
    // Nothing older to hand out: the new one is what there is.
    assert.equal(await h.issuable("app-made-slow"), await h.latest("app-made-slow"));
    advance(6 * MIN);
    const report = await h.runSweep();
    assert.ok(
      report.rotated.some((r) => r.name === "app-made-slow"),
      JSON.stringify(report),
    );
    const item = (await h.call("/inventory/app-made-slow")).json();
    assert.equal(item["status"], "active");
    assert.deepEqual(h.passwordsOf("app-made-slow"), [made["keyId"]]);
  });

  test("revoking a credential pending verification removes the new and the proven password", async () => {
    h.stack.graph.setPropagationDelay(0);
    await h.createAppSecret("app-gone");
    h.stack.graph.setPropagationDelay(5 * MIN);
    assert.equal((await h.call("/inventory/app-gone/rotate", "POST")).status, 202);
    assert.equal(h.passwordsOf("app-gone").length, 2);
    const res = await h.call("/inventory/app-gone", "DELETE");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json()["upstreamRevocation"], "revoked");
    assert.deepEqual(h.passwordsOf("app-gone"), []);
  });

  test("an import during verification replaces both: each waits out the grace", async () => {
    h.stack.graph.setPropagationDelay(0);
    const first = await h.createAppSecret("app-imported");
    h.stack.graph.setPropagationDelay(5 * MIN);
    assert.equal((await h.call("/inventory/app-imported/rotate", "POST")).status, 202);
    const pendingKey = (await h.call("/inventory/app-imported")).json()["keyId"] as string;
    const res = await h.call("/inventory/app-imported", "PUT", {
      kind: "client-secret",
      value: "imported~secret.value_0123456789abcdef",
      expiresOn: new Date(Date.now() + offset + 20 * DAY).toISOString(),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json()["status"], "pending-revoke");
    assert.equal(await h.tag("app-imported", "verify-pending"), undefined);
    const waiting = (await h.tag("app-imported", "pending-revoke")) ?? "";
    assert.match(waiting, new RegExp(first["keyId"] as string));
    assert.match(waiting, new RegExp(pendingKey));
    assert.equal(await h.issuable("app-imported"), "imported~secret.value_0123456789abcdef");
  });

  test("no secret value in any answer, report or log line", async () => {
    const values = [
      ...(await h.values("app-slow")),
      ...(await h.values("app-15")),
      ...(await h.values("app-never")),
    ];
    assert.ok(values.length >= 6);
    assert.deepEqual(logsContain(h.stack.logs, values), []);
    assert.deepEqual(
      values.filter((v) => h.texts.some((t) => t.includes(v))),
      [],
    );
  });
});

describe("rotation with no grace period, crashes injected after every step", () => {
  let crashAt: { step: RotationStep; name: string } | undefined;
  let offset = 0;
  let h: Awaited<ReturnType<typeof rotationStack>>;
  before(async () => {
    h = await rotationStack(
      { BROKER_REVOKE_GRACE_MINUTES: "0" },
      {
        now: () => Date.now() + offset,
        // Orphans are revoked at once here; in production only once older than the grace.
        orphanMinAgeMs: 0,
        afterRotationStep: (step, name) => {
          if (crashAt?.step === step && crashAt.name === name) {
            crashAt = undefined;
            throw new SimulatedCrash(`after ${step}`);
          }
        },
      },
    );
    // These crash tests take the quick path: Entra accepts a new secret at once.
    h.stack.graph.setPropagationDelay(0);
  });
  after(async () => {
    await h.stack.close();
  });

  test("after the grace the old PAT is revoked and the tag cleared", async () => {
    await h.createPat("pat-grace");
    const old = (await h.call("/inventory/pat-grace")).json()["authorizationId"];
    assert.equal((await h.call("/inventory/pat-grace/rotate", "POST")).status, 200);
    const report = await h.sweep();
    assert.ok(
      report.revoked.some((r) => r.name === "pat-grace" && r.upstreamId === old && r.outcome === "revoked"),
    );
    const current = (await h.call("/inventory/pat-grace")).json();
    assert.deepEqual(h.activeFor("pat-grace"), [current["authorizationId"]]);
    assert.equal(current["status"], "active");
    assert.equal(await h.tag("pat-grace", "pending-revoke"), undefined);
  });

  for (const step of ["created", "verified", "stored", "read-back", "revoked"] as const) {
    test(`a crash after "${step}" loses no working credential; the next sweep repairs it`, async () => {
      const name = `pat-crash-${step}`;
      await h.createPat(name);
      assert.ok(await h.currentWorks(name));
      if (step === "revoked") {
        assert.equal((await h.call(`/inventory/${name}/rotate`, "POST")).status, 200);
        crashAt = { step, name };
        await h.call("/sweeps/rotation", "POST");
      } else {
        crashAt = { step, name };
        const crashed = await h.call(`/inventory/${name}/rotate`, "POST");
        assert.equal(crashed.status, 500, "the simulated crash ends the request");
      }
      assert.equal(crashAt, undefined, "the crash happened");
      assert.ok(await h.currentWorks(name), "the stored credential works right after the crash");
      await h.sweep();
      await h.sweep();
      const current = (await h.call(`/inventory/${name}`)).json();
      assert.ok(await h.currentWorks(name), "and after the repair");
      // Exactly one live PAT for the credential: the stored one. Orphans and old ones are revoked.
      assert.deepEqual(h.activeFor(name), [current["authorizationId"]]);
      assert.equal(await h.tag(name, "pending-revoke"), undefined);
    });
  }

  test("a credential replaced by an import is revoked after the grace, not forgotten", async () => {
    const made = await h.createPat("pat-replaced");
    const value = knownPat(h.stack);
    const res = await h.call("/inventory/pat-replaced", "PUT", {
      kind: "pat",
      value,
      expiresOn: new Date(Date.now() + 20 * DAY).toISOString(),
    });
    assert.equal(res.status, 200, res.text);
    assert.match(
      (await h.tag("pat-replaced", "pending-revoke")) ?? "",
      new RegExp(made["authorizationId"] as string),
    );
    const report = await h.sweep();
    assert.ok(
      report.revoked.some((r) => r.name === "pat-replaced" && r.upstreamId === made["authorizationId"]),
      JSON.stringify(report),
    );
    assert.deepEqual(h.activeFor("pat-replaced"), []);
  });

  for (const step of ["created", "verified", "stored", "read-back"] as const) {
    test(`a client secret: a crash after "${step}" leaves one working password, the stored one`, async () => {
      crashAt = { step, name: "app-downstream-secret" };
      const crashed = await h.call("/inventory/app-downstream-secret/rotate", "POST");
      assert.equal(crashed.status, 500);
      assert.equal(crashAt, undefined, "the crash happened");
      await h.sweep();
      const current = (await h.call("/inventory/app-downstream-secret")).json();
      const keys = h.stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId);
      assert.deepEqual(keys, [current["keyId"]]);
      // The stored secret is the one Entra accepts.
      const secret = (await h.vault.getSecret("app-downstream-secret")).value ?? "";
      const credential = new ClientSecretCredential(
        h.stack.config.tenantId,
        DEV_DOWNSTREAM_APP.clientId,
        secret,
        {
          authorityHost: h.stack.entra.url,
          disableInstanceDiscovery: true,
          additionalPolicies: [
            { policy: extraCaPolicy(readFileSync(h.stack.caFile, "utf8")), position: "perCall" },
          ],
        },
      );
      assert.ok((await credential.getToken(`${h.stack.graph.url}/.default`)).token);
    });
  }

  test("a broker-made PAT the vault refuses to store is revoked again at once", async () => {
    h.stack.keyVault.injectFault({ status: 503, count: 50, retryAfterSeconds: 0, operation: "setSecret" });
    const res = await h.call("/inventory/pat-unstored", "PUT", {
      kind: "pat",
      owner: "team@contoso.com",
      organization: "fabrikam",
      scopes: ["vso.code"],
      lifetimeDays: 30,
    });
    h.stack.keyVault.clearFaults();
    assert.equal(res.status, 503, res.text);
    assert.ok(
      !h.stack.devops
        .pats("fabrikam")
        .some((p) => p.status === "active" && p.displayName.includes(":pat-unstored:")),
    );
  });

  test("a rotation whose vault write is refused revokes exactly one PAT, the new one", async () => {
    const item = await h.createPat("pat-vault-refused");
    const old = item["authorizationId"] as string;
    const mine = () =>
      h.stack.devops.pats("contoso").filter((p) => p.displayName.split(":")[2] === "pat-vault-refused");
    assert.deepEqual(
      mine().map((p) => p.authorizationId),
      [old],
    );
    h.stack.keyVault.injectFault({ status: 503, count: 50, retryAfterSeconds: 0, operation: "setSecret" });
    try {
      await assert.rejects(h.stack.runtime.rotation.rotateNow("pat-vault-refused"));
    } finally {
      h.stack.keyVault.clearFaults();
    }
    const after = mine();
    assert.equal(after.length, 2, "a new PAT was made");
    const revoked = after.filter((p) => p.status === "revoked");
    assert.equal(revoked.length, 1, "exactly one revoked");
    assert.notEqual(revoked[0]?.authorizationId, old, "the new one, never the stored one");
    assert.deepEqual(h.activeFor("pat-vault-refused"), [old]);
    assert.ok(await h.currentWorks("pat-vault-refused"), "the stored PAT still works");
  });

  test("a failed rotation far from expiry still raises a notice, reason rotation-failed", async () => {
    await h.createPat("pat-far-failed");
    // Inside the rotation window (10 days) but outside every notice threshold (7 days).
    await h.expireIn("pat-far-failed", 9);
    h.stack.devops.injectFault({ status: 403, count: 1, operation: "create" });
    try {
      const sweep = await h.stack.runtime.rotation.sweep("route");
      assert.ok(sweep.acquired);
      assert.equal(
        sweep.value.failed.find((f) => f.name === "pat-far-failed")?.reason,
        "devops_create_forbidden",
      );
    } finally {
      h.stack.devops.clearFaults();
    }
    const notices = await h.stack.runtime.notices.run("route");
    assert.ok(notices.acquired);
    const sent = h.stack.webhookSink
      .received("/hook")
      .map((n) => n.body as { name: string; type: string; reason: string; daysLeft: number })
      // Its creation notice went out at import: this is about the failure.
      .filter((n) => n.name === "pat-far-failed" && n.type === "token-broker.expiry-notice");
    assert.equal(sent.length, 1, JSON.stringify(sent));
    const [notice] = sent;
    assert.ok(notice !== undefined);
    assert.equal(notice.reason, "rotation-failed");
    assert.ok(notice.daysLeft > 7, "far from expiry: no expiry notice would have gone out");
  });

  test("orphans of another deployment, or named alike by a person, are never touched", async () => {
    const ids = [
      `token-broker:00000000:pat-elsewhere:2026-11-26`,
      `token-broker:pat-handmade`,
      `my token-broker:${deploymentIdOf(h.stack.keyVault.url)}:x:2026-11-26`,
    ].map((displayName) =>
      h.stack.devops.addPat("contoso", {
        token: randomPat(),
        ownerObjectId: DEV_USER.objectId,
        displayName,
        scope: "vso.code",
        validTo: new Date(Date.now() + 30 * DAY),
      }),
    );
    await h.createPat("pat-neighbour");
    const report = await h.sweep();
    for (const id of ids) {
      assert.ok(!report.orphansRevoked.some((o) => o.upstreamId === id));
      assert.equal(h.stack.devops.pats("contoso").find((p) => p.authorizationId === id)?.status, "active");
    }
  });

  test("while a new secret is pending, the proven one is no orphan: a sweep leaves it live", async () => {
    const name = "app-downstream-secret";
    h.stack.graph.setPropagationDelay(5 * MIN);
    try {
      const proven = await h.stack.runtime.inventory.get(name);
      const pending = await h.stack.runtime.rotation.rotateNow(name);
      assert.ok(pending.acquired && pending.value.status === "pending-verification");
      // Orphans are revoked at any age here: only the vault's word keeps the proven one alive.
      const report = await h.runSweep();
      assert.ok(!report.orphansRevoked.some((o) => o.upstreamId === proven.keyId), JSON.stringify(report));
      assert.ok(h.stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).some((p) => p.keyId === proven.keyId));
      assert.ok(await h.entraAccepts(await h.issuable(name)));
      offset += 6 * MIN;
      const promoted = await h.runSweep();
      assert.ok(
        promoted.rotated.some((r) => r.name === name),
        JSON.stringify(promoted),
      );
      await h.runSweep();
      assert.deepEqual(
        h.stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId),
        [(await h.stack.runtime.inventory.get(name)).keyId],
      );
    } finally {
      h.stack.graph.setPropagationDelay(0);
    }
  });

  // Entra accepts the new secret after 5 minutes (or never): a crash in any step of pending
  // verification. Last in this suite: the fake clock moves on by more than an hour here.
  for (const step of ["created", "stored", "read-back", "promoted", "discarded", "restored"] as const) {
    test(`a client secret pending verification: a crash after "${step}" is repaired`, async () => {
      const name = "app-downstream-secret";
      const refused = step === "discarded" || step === "restored";
      h.stack.graph.setPropagationDelay(refused ? 24 * 60 * MIN : 5 * MIN);
      try {
        if (step === "created" || step === "stored" || step === "read-back") {
          crashAt = { step, name };
          await assert.rejects(h.stack.runtime.rotation.rotateNow(name), SimulatedCrash);
        } else {
          const pending = await h.stack.runtime.rotation.rotateNow(name);
          assert.ok(pending.acquired && pending.value.status === "pending-verification");
          offset += (refused ? 21 : 6) * MIN;
          crashAt = { step, name };
          await assert.rejects(h.stack.runtime.rotation.sweep("timer"), SimulatedCrash);
        }
        assert.equal(crashAt, undefined, "the crash happened");
        // Right after the crash callers get a secret Entra accepts.
        assert.ok(await h.entraAccepts(await h.issuable(name)), "the handed-out secret works");
        offset += 6 * MIN;
        await h.runSweep();
        await h.runSweep();
      } finally {
        h.stack.graph.setPropagationDelay(0);
      }
      // One secret recorded, current and handed out, that Entra accepts; no other password left.
      // Through the runtime: the fake clock has moved past the caller token's lifetime.
      const current = await h.stack.runtime.inventory.get(name);
      assert.notEqual(current.status, "pending-verification");
      assert.equal(await h.tag(name, "verify-pending"), undefined);
      assert.equal(await h.tag(name, "pending-revoke"), undefined);
      const stored = await h.latest(name);
      assert.equal(await h.issuable(name), stored);
      assert.ok(await h.entraAccepts(stored));
      assert.deepEqual(
        h.stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId),
        [current.keyId],
      );
      if (refused) assert.equal(current.rotationError, "new_secret_not_accepted");
    });
  }

  test("a withdrawn grant shows as rotation-failed on the grant and fails PAT rotations", async () => {
    // A stack of its own: no access token of the rotator's user is cached there yet.
    const fresh = await rotationStack({ BROKER_REVOKE_GRACE_MINUTES: "0" });
    try {
      // Consent withdrawn before this process ever redeemed the grant.
      fresh.stack.entra.revokeRefreshTokens(DEV_USER.objectId);
      // The seeded PAT (registered upstream, so it really works) becomes due for auto rotation.
      const due = await fresh.call("/inventory/pat-contoso-nuget", "PUT", {
        kind: "pat",
        rotation: "auto",
        lifetimeDays: 30,
        expiresOn: new Date(Date.now() + 2 * DAY).toISOString(),
      });
      assert.equal(due.status, 200, due.text);
      const made = due.json();
      const report = await fresh.sweep();
      assert.ok(
        report.failed.some(
          (f) => f.name === "refresh-token-pat-owner" && f.reason === "rotator_grant_grant_refused",
        ),
        JSON.stringify(report),
      );
      assert.ok(
        report.failed.some(
          (f) => f.name === "pat-contoso-nuget" && f.reason === "rotator_grant_grant_refused",
        ),
        JSON.stringify(report),
      );
      assert.equal(
        (await fresh.call("/inventory/refresh-token-pat-owner")).json()["status"],
        "rotation-failed",
      );
      const pat = (await fresh.call("/inventory/pat-contoso-nuget")).json();
      assert.equal(pat["status"], "rotation-failed");
      assert.equal(pat["version"], made["version"]);
      assert.ok(await fresh.currentWorks("pat-contoso-nuget"), "the stored PAT still works");
    } finally {
      await fresh.stack.close();
    }
  });
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import { DEV_DOWNSTREAM_APP } from "../src/local/dev-identities.js";
import { DEFAULT_PROPAGATION_DELAY_MS } from "../src/local/emulators/graph.js";
import { createLogger } from "../src/log.js";
import { createRuntime, type Runtime } from "../src/runtime.js";
import { callerToken, knownPat, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;
const APP_SECRET = "app-downstream-secret";

interface Answer {
  status: number;
  body: { access_token?: string; code?: string; expires_in?: number };
}

/** Revoke and rotate, followed at once by token requests: the new value or a clear refusal, never the old. */
describe("coherent caches after revoke and rotate", () => {
  let stack: TestStack;
  let caller: string;
  let admin: string;
  let offset = 0;
  const now = () => Date.now() + offset;

  before(async () => {
    stack = await startTestStack({}, { now, rotationVerify: { retryDelaysMs: [50, 100, 200] } });
    caller = await callerToken(stack);
    admin = await callerToken(stack, "dev-admin");
  });
  after(() => stack.close());

  const token = async (profile: string): Promise<Answer> => {
    const res = await stack.token(caller, { profile });
    return { status: res.status, body: (await res.json()) as Answer["body"] };
  };
  const admin_ = async (path: string, method: string, body?: unknown) => {
    const res = await stack.api(path, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
    return res;
  };
  /** A second broker process on the same vault: the dev stack's own settings, so its control identity too. */
  const otherInstance = (): Runtime =>
    createRuntime(loadConfig(stack.appSettings), {
      extraCa: readFileSync(stack.caFile, "utf8"),
      log: createLogger(() => undefined),
      now,
    });
  /** The Entra key id of the app's current secret, as the vault's latest version names it. */
  const currentKeyId = async () => {
    const keyId = (await stack.runtime.store.getProperties(APP_SECRET)).tags["key-id"];
    assert.ok(keyId !== undefined);
    return keyId;
  };
  /**
   * Entra stops accepting the secret `keyId` (as if removed long ago): a token minted with it from
   * now on is refused, so a 200 afterwards proves the broker minted with another secret.
   */
  const entraForgets = (keyId: string) => stack.entra.removeClientSecret(DEV_DOWNSTREAM_APP.clientId, keyId);

  test("another instance converges within the vault cache TTL (PAT answer and minted token)", async () => {
    // Entra accepts a new secret at once here (the pending case has its own test below).
    stack.graph.setPropagationDelay(0);
    const other = otherInstance();
    const pat = stack.runtime.policy.profile("nuget-feed");
    const app = stack.runtime.policy.profile("graph-app");
    assert.ok(pat !== undefined && app !== undefined);
    const oldPat = (await other.issuer.issue("nuget-feed", pat)).token;
    const oldApp = (await other.issuer.issue("graph-app", app)).token;

    // A new PAT value and a rotated client secret, written through this instance.
    const fresh = knownPat(stack);
    await admin_("/inventory/pat-contoso-nuget", "PUT", {
      kind: "pat",
      value: fresh,
      expiresOn: new Date(Date.now() + 20 * DAY).toISOString(),
    });
    const oldKeyId = await currentKeyId();
    const rotatedApp = await admin_(`/inventory/${APP_SECRET}/rotate`, "POST");
    assert.equal(rotatedApp.status, 200, "proven at once");

    // Within the TTL the other instance may still answer from cache (the replaced values stay valid
    // through the revoke grace, and the PAT answer's expires_in never reaches past it)...
    const issued = other.issuer.cached("nuget-feed", pat) ?? (await other.issuer.issue("nuget-feed", pat));
    assert.equal(issued.token, oldPat);
    assert.ok(
      issued.expiresOn.getTime() <= now() + stack.config.revokeGraceMinutes * 60_000,
      "expires_in stays inside the revoke grace",
    );
    // ...and past it the vault is read again: the new PAT, and a token minted with the new secret.
    offset += 31_000;
    assert.equal(other.issuer.cached("nuget-feed", pat), undefined);
    assert.equal((await other.issuer.issue("nuget-feed", pat)).token, fresh);
    assert.equal(other.issuer.cached("graph-app", app), undefined);
    entraForgets(oldKeyId);
    const newApp = (await other.issuer.issue("graph-app", app)).token;
    assert.notEqual(newApp, oldApp);
  });

  test("client secret pending verification: the proven one until Entra accepts the new, then the new one here at once and elsewhere within the TTL", async () => {
    stack.graph.setPropagationDelay(DEFAULT_PROPAGATION_DELAY_MS);
    const other = otherInstance();
    const app = stack.runtime.policy.profile("graph-app");
    assert.ok(app !== undefined);
    const before = await token("graph-app");
    assert.equal(before.status, 200);
    await other.issuer.issue("graph-app", app);
    const provenKeyId = await currentKeyId();

    const stored = await admin_(`/inventory/${APP_SECRET}/rotate`, "POST");
    assert.equal(stored.status, 202, "stored pending verification");
    const pendingVersion = ((await stored.json()) as { version: string }).version;
    assert.notEqual(provenKeyId, await currentKeyId(), "the latest version holds the new secret");

    // While pending the proven secret is handed out (a token minted with it may be reused): still 200,
    // also once Entra would accept the new one, until a pass has proven it.
    assert.equal((await token("graph-app")).status, 200, "the proven secret, not the one Entra refuses yet");
    offset += DEFAULT_PROPAGATION_DELAY_MS;
    const whilePending = await token("graph-app");
    assert.equal(whilePending.status, 200);
    const otherPending = await other.issuer.issue("graph-app", app);

    // The next pass proves and promotes it; then the proven one may be forgotten at Entra.
    const promoted = await admin_(`/inventory/${APP_SECRET}/rotate`, "POST");
    assert.equal(promoted.status, 200);
    assert.deepEqual(
      { ...((await promoted.json()) as object) },
      { name: APP_SECRET, version: pendingVersion, status: "rotated" },
      "the pending version promoted, no second new secret",
    );
    entraForgets(provenKeyId);

    // Here at once: a token minted with the new secret (the proven one is refused by Entra now).
    const after = await token("graph-app");
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.notEqual(after.body.access_token, whilePending.body.access_token, "minted anew");
    // Elsewhere within the vault cache TTL: past it, the vault is read again and the new secret minted with.
    const stale = other.issuer.cached("graph-app", app);
    if (stale !== undefined) assert.equal(stale.token, otherPending.token, "only the token it had");
    offset += 31_000;
    assert.equal(other.issuer.cached("graph-app", app), undefined);
    const otherAfter = await other.issuer.issue("graph-app", app);
    assert.notEqual(otherAfter.token, otherPending.token);
  });

  test("PAT: rotate then a request gets the new PAT at once; delete then a refusal at once", async () => {
    const first = await token("nuget-feed");
    assert.equal(first.status, 200);
    assert.equal((await token("nuget-feed")).body.access_token, first.body.access_token, "cached");

    await admin_("/inventory/pat-contoso-nuget/rotate", "POST");
    const rotated = await token("nuget-feed");
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.access_token, first.body.access_token);
    const stored = await stack.runtime.store.getSecret("pat-contoso-nuget");
    assert.equal(rotated.body.access_token, stored.value, "the vault's current value");

    await admin_("/inventory/pat-contoso-nuget", "DELETE");
    const gone = await token("nuget-feed");
    assert.notEqual(gone.status, 200);
    assert.equal(gone.body.access_token, undefined);
    assert.ok(gone.body.code !== undefined, "a problem with a code");
  });

  test("client secret: rotate then a token minted with the new secret; delete then a refusal", async () => {
    stack.graph.setPropagationDelay(0);
    const first = await token("graph-app");
    assert.equal(first.status, 200);
    assert.equal((await token("graph-app")).body.access_token, first.body.access_token, "cached");

    const oldKeyId = await currentKeyId();
    assert.equal((await admin_(`/inventory/${APP_SECRET}/rotate`, "POST")).status, 200, "proven at once");
    entraForgets(oldKeyId);
    const rotated = await token("graph-app");
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.access_token, first.body.access_token, "minted anew");

    await admin_(`/inventory/${APP_SECRET}`, "DELETE");
    const gone = await token("graph-app");
    assert.notEqual(gone.status, 200);
    assert.equal(gone.body.access_token, undefined);
  });
});

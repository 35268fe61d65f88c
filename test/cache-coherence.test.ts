import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { randomPat } from "../src/local/sample-data.js";
import { createLogger } from "../src/log.js";
import { createRuntime, type Runtime } from "../src/runtime.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

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

  test("another instance converges within the vault cache TTL (PAT answer and minted token)", async () => {
    const other: Runtime = createRuntime(stack.config, {
      extraCa: readFileSync(stack.caFile, "utf8"),
      log: createLogger(() => undefined),
      now,
    });
    const pat = stack.runtime.policy.profile("nuget-feed");
    const app = stack.runtime.policy.profile("graph-app");
    assert.ok(pat !== undefined && app !== undefined);
    const oldPat = (await other.issuer.issue("nuget-feed", pat)).token;
    const oldApp = (await other.issuer.issue("graph-app", app)).token;

    // A new PAT value and a rotated client secret, written through this instance.
    const fresh = randomPat();
    await admin_("/inventory/pat-contoso-nuget", "PUT", {
      kind: "pat",
      value: fresh,
      expiresOn: new Date(Date.now() + 20 * DAY).toISOString(),
    });
    await admin_("/inventory/app-downstream-secret/rotate", "POST");

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
    const newApp = (await other.issuer.issue("graph-app", app)).token;
    assert.notEqual(newApp, oldApp);
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
    const first = await token("graph-app");
    assert.equal(first.status, 200);
    assert.equal((await token("graph-app")).body.access_token, first.body.access_token, "cached");

    await admin_("/inventory/app-downstream-secret/rotate", "POST");
    const rotated = await token("graph-app");
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.access_token, first.body.access_token, "minted anew");

    await admin_("/inventory/app-downstream-secret", "DELETE");
    const gone = await token("graph-app");
    assert.notEqual(gone.status, 200);
    assert.equal(gone.body.access_token, undefined);
  });
});

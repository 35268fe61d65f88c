import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { decodeJwt } from "jose";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  DEV_MANAGED_IDENTITIES,
  DEV_DOWNSTREAM_APP,
  DEV_BROKER_APP_ID,
} from "../src/local/dev-identities.js";
import { randomPat } from "../src/local/sample-data.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { startGitServer } from "./support/git-server.js";
import {
  callerToken,
  devClient,
  rawCallerToken,
  logsContain,
  startTestStack,
  writePolicy,
  type TestStack,
} from "./support/dev-stack.js";

const ADO = "499b84ac-1321-427f-aa17-267ca6975798";
const DAY = 24 * 3600_000;
const managedTags = (kind: string) => ({ "managed-by": "token-broker", kind, owner: "team@contoso.com" });

describe("POST /api/token on the dev stack", () => {
  let stack: TestStack;
  let vault: SecretClient;
  let caller: string;
  const canaries: string[] = [];

  before(async () => {
    const policy = writePolicy({
      profiles: {
        "pat-disabled": { kind: "pat", secret: "pat-disabled" },
        "pat-expired": { kind: "pat", secret: "pat-expired" },
        "pat-unmanaged": { kind: "pat", secret: "pat-unmanaged" },
        "pat-missing": { kind: "pat", secret: "pat-missing" },
        "pat-malformed": { kind: "pat", secret: "pat-malformed" },
        "pat-no-expiry": { kind: "pat", secret: "pat-no-expiry" },
        "pat-canary": { kind: "pat", secret: "pat-canary" },
        "pat-shared": { kind: "pat", secret: "pat-contoso-nuget" },
        // A resource no other profile uses, so MSAL's own cache cannot hide upstream calls.
        "ado-fresh": {
          kind: "entra",
          scope: "https://management.azure.com/.default",
          credential: { type: "managed-identity" },
        },
        "graph-fresh": {
          kind: "entra",
          scope: "https://graph.microsoft.com/.default",
          credential: { type: "managed-identity" },
        },
        "graph-wrong-secret": {
          kind: "entra",
          scope: "https://graph.microsoft.com/.default",
          credential: {
            type: "client-secret",
            tenantId: "a1b2c3d4-0000-4000-8000-000000000001",
            clientId: DEV_DOWNSTREAM_APP.clientId,
            secret: "app-wrong-secret",
          },
        },
      },
      grants: [
        {
          match: { appid: devClient("dev-caller").clientId },
          profiles: [
            "pat-disabled",
            "pat-expired",
            "pat-unmanaged",
            "pat-missing",
            "pat-malformed",
            "pat-no-expiry",
            "pat-canary",
            "pat-shared",
            "ado-fresh",
            "graph-fresh",
            "graph-wrong-secret",
          ],
        },
      ],
    });
    stack = await startTestStack({
      BROKER_POLICY_FILE: policy,
      BROKER_AUDIENCE: `api://token-broker,${DEV_BROKER_APP_ID}`,
    });
    vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    const canaryPat = randomPat();
    canaries.push(canaryPat);
    await vault.setSecret("pat-canary", canaryPat, {
      tags: managedTags("pat"),
      expiresOn: new Date(Date.now() + 9 * DAY),
    });
    await vault.setSecret("pat-disabled", randomPat(), {
      tags: managedTags("pat"),
      enabled: false,
      expiresOn: new Date(Date.now() + 9 * DAY),
    });
    await vault.setSecret("pat-expired", randomPat(), {
      tags: managedTags("pat"),
      expiresOn: new Date(Date.now() - DAY),
    });
    await vault.setSecret("pat-unmanaged", randomPat(), { expiresOn: new Date(Date.now() + 9 * DAY) });
    // Stored by hand, not through an import: a value that is no PAT, and a PAT without an expiry.
    await vault.setSecret("pat-malformed", "not-a-pat-value", {
      tags: managedTags("pat"),
      expiresOn: new Date(Date.now() + 9 * DAY),
    });
    await vault.setSecret("pat-no-expiry", randomPat(), { tags: managedTags("pat") });
    const wrongSecret = "canary-wrong-client-secret-Qx81";
    canaries.push(wrongSecret);
    await vault.setSecret("app-wrong-secret", wrongSecret, {
      tags: managedTags("client-secret"),
      expiresOn: new Date(Date.now() + 9 * DAY),
    });
    caller = await callerToken(stack);
    canaries.push(caller);
  });

  after(async () => {
    await stack.close();
  });

  test("mints an Entra token with the broker's minting identity (never its control identity)", async () => {
    const res = await stack.token(caller, { profile: "ado-read" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body["token_type"], "Bearer");
    assert.equal(body["profile"], "ado-read");
    assert.equal(body["authorization"], `Bearer ${String(body["access_token"])}`);
    const claims = decodeJwt(String(body["access_token"]));
    assert.equal(claims.aud, ADO);
    assert.equal(claims["appid"], DEV_MANAGED_IDENTITIES.minting.clientId);
    const expiresIn = Number(body["expires_in"]);
    assert.ok(expiresIn > 23 * 3600 && expiresIn <= 24 * 3600, `expires_in ${expiresIn}`);
    assert.equal(Date.parse(String(body["expires_on"])), Number(claims.exp) * 1000);
    canaries.push(String(body["access_token"]));
  });

  test("mints with a user-assigned identity named by the profile", async () => {
    const body = (await (await stack.token(caller, { profile: "ado-build" })).json()) as Record<
      string,
      string
    >;
    assert.equal(
      decodeJwt(body["access_token"] ?? "")["appid"],
      DEV_MANAGED_IDENTITIES.userAssigned.clientId,
    );
    canaries.push(body["access_token"] ?? "");
  });

  test("mints with an app's client secret read from the vault", async () => {
    const res = await stack.token(caller, { profile: "graph-app" });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, string>;
    const claims = decodeJwt(body["access_token"] ?? "");
    assert.equal(claims.aud, "https://graph.microsoft.com");
    assert.equal(claims["appid"], DEV_DOWNSTREAM_APP.clientId);
    canaries.push(body["access_token"] ?? "");
  });

  test("hands out a PAT as a ready Basic header", async () => {
    const stored = await vault.getSecret("pat-contoso-nuget");
    const res = await stack.token(caller, { profile: "nuget-feed" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body["token_type"], "Basic");
    assert.equal(body["access_token"], stored.value);
    assert.equal(body["authorization"], `Basic ${Buffer.from(`:${stored.value ?? ""}`).toString("base64")}`);
    // The PAT lives a month, but the answer promises no longer than a rotation's grace (60 min)
    // less the vault cache: a caller caching it for expires_in never holds it past its revocation.
    const promised = Date.parse(body["expires_on"] as string);
    assert.ok(promised < (stored.properties.expiresOn?.getTime() ?? 0));
    assert.ok(Math.abs(promised - (Date.now() + 59.5 * 60_000)) < 10_000, String(body["expires_on"]));
    assert.ok((body["expires_in"] as number) <= 59.5 * 60);
    canaries.push(stored.value ?? "");
  });

  test("two profiles sharing one stored PAT each answer as themselves, both from cache", async () => {
    for (const profile of ["nuget-feed", "pat-shared", "nuget-feed", "pat-shared"]) {
      const res = await stack.token(caller, { profile });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { profile: string }).profile, profile);
    }
    for (const name of ["nuget-feed", "pat-shared"]) {
      const profile = stack.runtime.policy.profile(name);
      assert.ok(profile !== undefined && stack.runtime.issuer.cached(name, profile) !== undefined, name);
    }
  });

  test("the PAT's authorization header works with git against a real git server", async () => {
    const stored = await vault.getSecret("pat-contoso-nuget");
    const git = await startGitServer(stored.value ?? "");
    try {
      const res = await stack.token(caller, { profile: "nuget-feed" });
      const { authorization } = (await res.json()) as { authorization: string };
      // Asynchronously: the git server runs on this process's event loop.
      const lsRemote = (args: string[], env: Record<string, string> = {}) =>
        new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn("git", [...args, "ls-remote", git.repoUrl], {
            env: { PATH: process.env["PATH"] ?? "", GIT_TERMINAL_PROMPT: "0", HOME: tmpdir(), ...env },
          });
          let stdout = "";
          let stderr = "";
          child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
          child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
          child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
      // From the environment (--config-env), as the README shows: argv is visible to every user.
      const ok = await lsRemote(["--config-env=http.extraheader=GIT_AUTH_HEADER"], {
        GIT_AUTH_HEADER: `AUTHORIZATION: ${authorization}`,
      });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /refs\/heads\/main/);
      const without = await lsRemote([]);
      assert.notEqual(without.status, 0, "the server really wants the PAT");
    } finally {
      await git.close();
    }
  });

  test("accepts the RFC 8693 token-exchange form", async () => {
    const res = await stack.api("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: caller,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        audience: "ado-read",
      }).toString(),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    assert.equal(body["token_type"], "Bearer");
  });

  test("the exchange form refuses unknown, repeated and missing fields", async () => {
    const base = {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: caller,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    };
    for (const body of [
      new URLSearchParams({ ...base, audience: "ado-read", extra: "x" }),
      new URLSearchParams([...Object.entries(base), ["audience", "ado-read"], ["audience", "nuget-feed"]]),
      new URLSearchParams(base),
      new URLSearchParams({ ...base, grant_type: "client_credentials", audience: "ado-read" }),
    ]) {
      const res = await stack.api("/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: body.toString(),
      });
      assert.equal(res.status, 400, body.toString().slice(0, 80));
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
    }
  });

  test("the exchange form refuses a second, different caller token in Authorization", async () => {
    const other = await callerToken(stack, "dev-ops");
    const body = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: caller,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      audience: "ado-read",
    }).toString();
    const send = (authorization: string) =>
      stack.api("/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization },
        body,
      });
    const mixed = await send(`Bearer ${other}`);
    assert.equal(mixed.status, 400);
    assert.match(
      ((await mixed.json()) as { detail: string }).detail,
      /either as subject_token or in Authorization/,
    );
    // Control: the same token in both places is one caller.
    assert.equal((await send(`Bearer ${caller}`)).status, 200);
  });

  test("accepts Entra v2 tokens (azp) as well as v1 (appid)", async () => {
    const v2 = await rawCallerToken(stack, devClient("dev-caller"), { token_version: "2" });
    assert.equal(decodeJwt(v2).iss, stack.entra.issuerV2);
    assert.equal(decodeJwt(v2).aud, DEV_BROKER_APP_ID);
    const answer = await stack.token(v2, { profile: "ado-read" });
    assert.equal(answer.status, 200);
  });

  test("unknown and forbidden profiles answer byte-identical 403s", async () => {
    const ops = await callerToken(stack, "dev-ops");
    const forbidden = await stack.token(ops, { profile: "nuget-feed" });
    const unknown = await stack.token(ops, { profile: "no-such-profile" });
    assert.equal(forbidden.status, 403);
    assert.equal(unknown.status, 403);
    assert.equal(forbidden.headers.get("content-type"), "application/problem+json");
    assert.equal(await forbidden.text(), await unknown.text());
    // The same holds for the token-exchange form, whose problems also carry `error: invalid_target`.
    const exchange = (audience: string) =>
      stack.api("/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: ops,
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
          audience,
        }).toString(),
      });
    const [a, b] = [await exchange("nuget-feed"), await exchange("no-such-profile")];
    assert.equal(a.status, 403);
    const text = await a.text();
    assert.equal(text, await b.text());
    assert.equal((JSON.parse(text) as { error: string }).error, "invalid_target");
  });

  test("concurrent misses share one upstream call and the token is then cached", async () => {
    const before = stack.managedIdentity.stats().tokenRequests;
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => stack.token(caller, { profile: "ado-fresh" })),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array.from({ length: 12 }, () => 200),
    );
    const tokens = new Set(
      await Promise.all(
        answers.map(async (a) => ((await a.json()) as { access_token: string }).access_token),
      ),
    );
    assert.equal(tokens.size, 1);
    assert.equal(stack.managedIdentity.stats().tokenRequests, before + 1);
    await stack.token(caller, { profile: "ado-fresh" });
    assert.equal(stack.managedIdentity.stats().tokenRequests, before + 1);
  });

  test("a stored credential that needs a person is 409 with what to do, never a retry-me 503", async () => {
    const expectations: [string, string][] = [
      ["pat-disabled", "credential_disabled"],
      ["pat-expired", "credential_expired"],
      ["pat-unmanaged", "credential_invalid"],
      ["pat-malformed", "credential_invalid"],
      ["pat-no-expiry", "credential_invalid"],
      ["pat-missing", "credential_missing"],
    ];
    for (const [profile, code] of expectations) {
      const res = await stack.token(caller, { profile });
      assert.equal(res.status, 409, profile);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(res.headers.get("retry-after"), null, profile);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body["code"], code, profile);
      assert.equal(body["action"], "reimport-or-rotate", profile);
      assert.match(String(body["detail"]), /Ask the profile's owner to re-import or rotate it\.$/, profile);
      assert.equal(body["access_token"], undefined);
    }
    // The token-exchange form says the same, with RFC 8693's invalid_target.
    const exchange = await stack.api("/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: caller,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        audience: "pat-missing",
      }).toString(),
    });
    assert.equal(exchange.status, 409);
    assert.equal(exchange.headers.get("retry-after"), null);
    const body = (await exchange.json()) as Record<string, unknown>;
    assert.deepEqual([body["code"], body["error"]], ["credential_missing", "invalid_target"]);
  });

  test("upstream failures answer 503 with Retry-After and nothing of the upstream message", async () => {
    const miFault = await fetch(new URL("/_emulator/faults", stack.managedIdentity.endpoint), {
      method: "POST",
      body: JSON.stringify({ status: 500, count: 10 }),
    });
    assert.equal(miFault.status, 204);
    const res = await stack.token(caller, { profile: "graph-fresh" });
    assert.equal(res.status, 503);
    assert.ok(res.headers.get("retry-after"));
    const text = await res.text();
    assert.doesNotMatch(text, /Injected|statusCode/);
    stack.managedIdentity.clearFaults();

    stack.keyVault.injectFault({ status: 503, count: 10 });
    const vaultDown = await stack.token(caller, { profile: "pat-canary" });
    assert.equal(vaultDown.status, 503);
    assert.equal(((await vaultDown.json()) as { code: string }).code, "upstream_unavailable");
    assert.ok(vaultDown.headers.get("retry-after"));
    stack.keyVault.clearFaults();
  });

  test("Entra refusing the app's client secret is 502, with nothing of Entra's answer", async () => {
    const res = await stack.token(caller, { profile: "graph-wrong-secret" });
    const text = await res.text();
    assert.equal(res.status, 502, text);
    assert.equal((JSON.parse(text) as { code: string }).code, "upstream_error");
    assert.doesNotMatch(text, /AADSTS|invalid_client|canary/);
  });

  test("request shape errors are problem+json with the right status", async () => {
    const cases: [RequestInit & { path?: string }, number, string][] = [
      [
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${caller}` },
          body: "{not json",
        },
        400,
        "invalid_request",
      ],
      [
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${caller}` },
          body: '{"profile": 7}',
        },
        400,
        "invalid_request",
      ],
      [
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${caller}` },
          body: '{"profile":"ado-read","x":1}',
        },
        400,
        "invalid_request",
      ],
      [
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${caller}` },
          body: "[]",
        },
        400,
        "invalid_request",
      ],
      [
        {
          method: "POST",
          headers: { "content-type": "text/plain", authorization: `Bearer ${caller}` },
          body: "ado-read",
        },
        415,
        "unsupported_media_type",
      ],
      [
        { method: "POST", headers: { authorization: `Bearer ${caller}` }, body: '{"profile":"ado-read"}' },
        415,
        "unsupported_media_type",
      ],
      [
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${caller}` },
          body: JSON.stringify({ profile: "x".repeat(2 * 1024 * 1024) }),
        },
        413,
        "payload_too_large",
      ],
      [{ method: "GET" }, 405, "method_not_allowed"],
      [{ method: "DELETE" }, 405, "method_not_allowed"],
    ];
    for (const [init, status, code] of cases) {
      const res = await stack.api("/token", init);
      assert.equal(
        res.status,
        status,
        `${init.method ?? ""} ${typeof init.body === "string" ? init.body.slice(0, 30) : ""}`,
      );
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body["code"], code);
      assert.equal(body["status"], status);
      assert.equal(typeof body["title"], "string");
      assert.match(String(body["type"]), /^urn:token-broker:problem:/);
    }
    const notAllowed = await stack.api("/token", { method: "GET" });
    assert.equal(notAllowed.headers.get("allow"), "POST");
    const missing = await stack.api("/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/problem+json");
  });

  test("a body that repeats a key is refused, not read one way here and another elsewhere", async () => {
    const res = await stack.token(caller, '{"profile":"no-such","profile":"ado-read"}');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, "invalid_request");
  });

  test("a wrong-typed body is answered 400 naming the field, never echoing the value", async () => {
    const res = await stack.token(caller, { profile: ["canary-value-xyz"] });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.match(text, /"field":"profile"/);
    assert.doesNotMatch(text, /canary-value-xyz/);
  });

  test("GET /api/health answers without secrets or configuration", async () => {
    const res = await stack.api("/health");
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), { status: "ok" });
    assert.doesNotMatch(text, /vault|tenant|127\.0\.0\.1/i);
  });

  test("one audit line per decision, with a fingerprint and no credential", () => {
    const audits = stack.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["event"] === "audit.token");
    const issued = audits.find((a) => a["outcome"] === "issued" && a["profile"] === "nuget-feed");
    assert.ok(issued, "an issued audit line for nuget-feed");
    assert.match(String(issued["fingerprint"]), /^sha256:[0-9a-f]{16}$/);
    assert.equal((issued["caller"] as Record<string, string>)["appid"], devClient("dev-caller").clientId);
    assert.ok(audits.some((a) => a["outcome"] === "denied" && a["code"] === "profile_not_granted"));
    assert.ok(audits.some((a) => a["outcome"] === "failed" && a["code"] === "credential_disabled"));
    assert.ok(canaries.length >= 5);
    assert.deepEqual(logsContain(stack.logs, canaries), []);
    // The Basic form of the PATs must not appear either.
    assert.deepEqual(
      logsContain(
        stack.logs,
        canaries.map((c) => Buffer.from(`:${c}`).toString("base64")),
      ),
      [],
    );
  });
});

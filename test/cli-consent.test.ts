import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEV_DOWNSTREAM_APP, DEV_PUBLIC_CLIENT, DEV_USER } from "../src/local/dev-identities.js";
import { httpSender } from "../src/net/http-request.js";
import { callerToken, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

/** The compiled CLI, run as a process the way `npx token-broker` runs it. */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
const DAY = 24 * 3600_000;
const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  argv: string[];
}

/**
 * Runs the CLI; when it shows a device code, `signIn` plays the person at the verification page
 * (the emulator's approval hook) with the user code it printed.
 */
function runCli(
  args: string[],
  env: Record<string, string>,
  options: { stdin?: string; signIn?: (userCode: string) => void } = {},
): Promise<Ran> {
  const argv = [CLI, ...args];
  const child = spawn(process.execPath, argv, {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let signedIn = false;
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
    const code = /enter the code ([A-Z0-9]+) to authenticate/.exec(stderr)?.[1];
    if (code !== undefined && !signedIn && options.signIn !== undefined) {
      signedIn = true;
      options.signIn(code);
    }
  });
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, argv }));
  });
}

describe("token-broker rotator consent: the device-code flow against the dev stack", () => {
  let stack: TestStack;
  let admin: string;
  let env: Record<string, string>;
  const outputs: Ran[] = [];
  const run = async (...a: Parameters<typeof runCli>) => {
    const r = await runCli(...a);
    outputs.push(r);
    return r;
  };
  const approve = (code: string) => assert.ok(stack.entra.approveDeviceCode(code, DEV_USER.objectId));
  const api = async (p: string, method = "GET", body?: unknown) => {
    const res = await stack.api(p, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  before(async () => {
    stack = await startTestStack({}, { deviceCodeIntervalSeconds: 1 });
    admin = await callerToken(stack, "dev-admin");
    env = {
      TOKEN_BROKER_URL: stack.brokerUrl,
      TOKEN_BROKER_TOKEN: admin,
      AZURE_AUTHORITY_HOST: stack.entra.url,
      BROKER_TENANT_ID: stack.config.tenantId,
      // The emulators' self-signed CA, trusted the standard Node way.
      NODE_EXTRA_CA_CERTS: stack.caFile,
    };
  });
  after(() => stack.close());

  test("a public client: the code is shown, the user signs in, the grant is stored and the PAT rotator redeems it", async () => {
    const r = await run(
      [
        "rotator",
        "consent",
        "--client-id",
        DEV_PUBLIC_CLIENT.clientId,
        "--org",
        "fabrikam",
        "--owner",
        "platform@contoso.com",
      ],
      env,
      { signIn: approve },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^To sign in, use a web browser to open the page https:\/\/127\.0\.0\.1:\d+\/devicelogin and enter the code [A-Z0-9]{9} to authenticate\.\n$/,
    );
    assert.match(
      r.stdout,
      /^Stored ado-rotator-fabrikam: rotator grant of a1b2c3d4-0000-4000-8000-0000000000f0 \(public\), signed in as pat-owner@contoso\.com; last redeemed \d{4}-\d\d-\d\dT[\d:.]+Z, expires \d{4}-\d\d-\d\d after 90 days without use, version [0-9a-f]{32}\n$/,
    );

    const item = (await api("/inventory/ado-rotator-fabrikam")).json();
    assert.equal(item["kind"], "refresh-token");
    assert.equal(item["clientType"], "public");
    assert.equal(item["clientId"], DEV_PUBLIC_CLIENT.clientId);
    assert.equal(item["organization"], "fabrikam");
    const lastRedeemed = Date.parse(String(item["lastRedeemed"]));
    assert.ok(Math.abs(Date.now() - lastRedeemed) < 60_000, "redeemed just now");
    // Key Vault keeps expiry in whole seconds.
    assert.equal(
      Date.parse(String(item["expiresOn"])),
      seconds(lastRedeemed + 90 * DAY),
      "90 days of inactivity",
    );
    const stored = await stack.runtime.store.getSecret("ado-rotator-fabrikam");

    // The broker acts through it: a broker-made PAT in fabrikam is created with this grant.
    const made = await api("/inventory/pat-consent-fabrikam", "PUT", {
      kind: "pat",
      owner: "team@contoso.com",
      organization: "fabrikam",
      scopes: ["vso.code"],
      lifetimeDays: 30,
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(stack.devops.pats("fabrikam").length > 0, true);
    const after = (await api("/inventory/ado-rotator-fabrikam")).json();
    assert.notEqual(after["version"], item["version"], "the rolled refresh token was stored");
    assert.ok(Date.parse(String(after["lastRedeemed"])) >= lastRedeemed);

    const canary = stored.value;
    const everything = r.stdout + r.stderr + r.argv.join(" ");
    assert.ok(!everything.includes(canary), "the refresh token is on no terminal or argv");
    assert.deepEqual(logsContain(stack.logs, [canary, admin]), [], "nor in the broker's logs");
  });

  test("a confidential client: its secret goes on the redemptions; without it or with a wrong one it fails clearly", async () => {
    const appSecret = (await stack.runtime.store.getSecret("app-downstream-secret")).value;
    const args = [
      "rotator",
      "consent",
      "--client-id",
      DEV_DOWNSTREAM_APP.clientId,
      "--client-type",
      "confidential",
      "--client-secret-name",
      "app-downstream-secret",
      "--org",
      "contoso",
      "--owner",
      "platform@contoso.com",
    ];
    const noName = await run(
      args.filter(
        (a, i) =>
          a !== "app-downstream-secret" &&
          args[i - 1] !== "--client-secret-name" &&
          a !== "--client-secret-name",
      ),
      env,
    );
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /^token-broker: --client-type confidential needs --client-secret-name/);

    const wrong = await run(args, env, { stdin: "not-the-app-secret\n", signIn: approve });
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /\ntoken-broker: consent failed: .*invalid_client/);
    assert.ok(!wrong.stderr.includes("not-the-app-secret"));
    assert.equal((await api("/inventory/ado-rotator-contoso")).status, 404, "nothing stored");

    const r = await run(args, env, { stdin: `${appSecret}\n`, signIn: approve });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Stored ado-rotator-contoso: rotator grant of .* \(confidential\)/);
    const item = (await api("/inventory/ado-rotator-contoso")).json();
    assert.equal(item["clientType"], "confidential");
    assert.equal(item["clientSecretName"], "app-downstream-secret");

    // Every sweep redeems every grant: this one with the app's secret from the vault (Entra
    // refuses it without); one whose secret credential is gone fails with the reason, on the grant.
    const grant = await stack.runtime.store.getSecret("ado-rotator-contoso");
    await stack.runtime.store.setSecret("ado-rotator-broken", grant.value, {
      contentType: grant.contentType,
      expiresOn: new Date(Date.now() + 30 * DAY),
      tags: { ...grant.tags, "client-secret-name": "no-such-secret", org: "nowhere" },
    });
    const sweep = await stack.runtime.rotation.sweep("route");
    assert.ok(sweep.acquired);
    const failed = sweep.value.failed;
    assert.ok(!failed.some((f) => f.name === "ado-rotator-contoso"), JSON.stringify(failed));
    assert.ok(
      failed.some(
        (f) => f.name === "ado-rotator-broken" && f.reason === "rotator_grant_client_secret_missing",
      ),
      JSON.stringify(failed),
    );
    assert.equal((await api("/inventory/ado-rotator-broken")).json()["status"], "rotation-failed");
    const redeemed = (await api("/inventory/ado-rotator-contoso")).json();
    assert.notEqual(redeemed["version"], item["version"], "the rolled refresh token was stored");
    assert.ok(Date.parse(String(redeemed["lastRedeemed"])) >= Date.parse(String(item["lastRedeemed"])));

    // And the PAT rotator acts through it in its organization.
    const made = await api("/inventory/pat-consent-contoso", "PUT", {
      kind: "pat",
      owner: "team@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      lifetimeDays: 30,
    });
    assert.equal(made.status, 201, made.text);

    const canaries = [appSecret, grant.value];
    const everything = [noName, wrong, r].map((x) => x.stdout + x.stderr + x.argv.join(" ")).join("\n");
    for (const c of canaries) assert.ok(!everything.includes(c), "no secret on a terminal or argv");
    assert.deepEqual(logsContain(stack.logs, canaries), [], "nor in the broker's logs");
  });

  test("an SPA client is refused with the reason, by the command and by the inventory", async () => {
    const r = await run(
      [
        "rotator",
        "consent",
        "--client-id",
        DEV_PUBLIC_CLIENT.clientId,
        "--client-type",
        "spa",
        "--owner",
        "o@x",
      ],
      env,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^token-broker: spa clients cannot serve the rotator: .*24 hours.*Origin/);
    assert.equal(stack.entra.pendingUserCodes().length, 0, "no sign-in was started");

    const put = await api("/inventory/spa-grant", "PUT", {
      kind: "refresh-token",
      value: "0.Aopaque",
      lastRedeemed: new Date().toISOString(),
      clientId: DEV_PUBLIC_CLIENT.clientId,
      clientType: "spa",
      owner: "o@x.com",
    });
    assert.equal(put.status, 400, put.text);
    assert.match(put.text, /24 hours/);
  });

  test("the inventory computes a grant's expiry and checks its client", async () => {
    const base = {
      kind: "refresh-token",
      value: "0.Aopaque-canary",
      clientId: DEV_PUBLIC_CLIENT.clientId,
      owner: "o@x.com",
    };
    const fieldOf = (res: { json: () => Record<string, unknown> }) =>
      (res.json()["errors"] as { field: string }[] | undefined)?.map((e) => e.field);
    const chosen = await api("/inventory/grant-x", "PUT", {
      ...base,
      expiresOn: new Date(Date.now() + DAY).toISOString(),
    });
    assert.equal(chosen.status, 400);
    assert.ok(fieldOf(chosen)?.includes("expiresOn"), chosen.text);
    const missing = await api("/inventory/grant-x", "PUT", base);
    assert.equal(missing.status, 400);
    assert.ok(fieldOf(missing)?.includes("lastRedeemed"), missing.text);
    const stale = await api("/inventory/grant-x", "PUT", {
      ...base,
      lastRedeemed: new Date(Date.now() - 91 * DAY).toISOString(),
    });
    assert.equal(stale.status, 400);
    assert.match(stale.text, /more than 90 days ago/);
    const notASecret = await api("/inventory/grant-x", "PUT", {
      ...base,
      lastRedeemed: new Date().toISOString(),
      clientType: "confidential",
      clientSecretName: "pat-contoso-nuget",
    });
    assert.equal(notASecret.status, 400);
    assert.match(notASecret.text, /managed client-secret credential/);
    const otherClient = await api("/inventory/grant-x", "PUT", {
      ...base,
      lastRedeemed: new Date().toISOString(),
      clientType: "confidential",
      clientSecretName: "app-downstream-secret",
    });
    assert.equal(otherClient.status, 400);
    assert.match(otherClient.text, /another client id/);

    const last = new Date(Date.now() - 10 * DAY);
    const ok = await api("/inventory/grant-x", "PUT", { ...base, lastRedeemed: last.toISOString() });
    assert.equal(ok.status, 201, ok.text);
    const item = ok.json();
    assert.equal(item["lastRedeemed"], last.toISOString());
    assert.equal(item["expiresOn"], new Date(seconds(last.getTime() + 90 * DAY)).toISOString());
    assert.equal(item["clientType"], "public");
    assert.ok(!ok.text.includes("0.Aopaque-canary"));
  });

  test("import of a refresh token takes --last-redeemed, not --expires; show prints the grant's client and last redemption", async () => {
    const canary = `0.Acanary${Date.now()}`;
    const base = [
      "import",
      "grant-imported",
      "--kind",
      "refresh-token",
      "--client-id",
      DEV_PUBLIC_CLIENT.clientId,
      "--owner",
      "o@x.com",
    ];
    const withExpires = await run([...base, "--expires", "2030-01-01"], env, { stdin: canary });
    assert.equal(withExpires.code, 2);
    assert.match(withExpires.stderr, /--expires is not taken for a refresh token/);
    const day = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
    const imported = await run([...base, "--last-redeemed", day], env, { stdin: `${canary}\n` });
    assert.equal(imported.code, 0, imported.stderr);
    const expires = new Date(Date.parse(`${day}T00:00:00Z`) + 90 * DAY).toISOString().slice(0, 10);
    assert.match(
      imported.stdout,
      new RegExp(`^Imported grant-imported: refresh-token, expires ${expires}, 8\\d days left`),
    );
    const show = await run(["inventory", "show", "grant-imported"], env);
    assert.match(show.stdout, /^Client type: +public$/m);
    assert.match(show.stdout, new RegExp(`^Last redeemed: +${day}T00:00:00\\.000Z$`, "m"));
    for (const r of [withExpires, imported, show]) assert.ok(!(r.stdout + r.stderr).includes(canary));
    assert.deepEqual(logsContain(stack.logs, [canary]), []);
  });

  test("the emulator's approval route: what a person does at the verification page, for npm start", async () => {
    const send = httpSender({ extraCa: readFileSync(stack.caFile, "utf8"), devStack: true });
    const approveOverHttp = (userCode: string) =>
      send({
        method: "POST",
        url: `${stack.entra.url}/_emulator/device-codes/approve`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userCode, userObjectId: DEV_USER.objectId }),
      });
    assert.equal((await approveOverHttp("NOSUCHCOD")).status, 404);
    let approved: Promise<{ status: number }> | undefined;
    const r = await run(
      [
        "rotator",
        "consent",
        "--client-id",
        DEV_PUBLIC_CLIENT.clientId,
        "--name",
        "grant-by-route",
        "--owner",
        "o@x.com",
      ],
      env,
      {
        signIn: (code) => {
          approved = approveOverHttp(code);
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await approved)?.status, 204);
    assert.match(r.stdout, /^Stored grant-by-route:/);
  });
});

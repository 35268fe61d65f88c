import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ConfigError } from "../src/config.js";
import { duplicateKeyPaths } from "../src/net/json-text.js";
import { checkPolicyText, formatProblem, jsonPath } from "../src/policy/check.js";
import { loadPolicyFile } from "../src/policy/load.js";
import { parseExpectations } from "../src/policy/expectations.js";
import { ROOT } from "./support/functions-worker.js";
import { runCli } from "./support/cli-process.js";
import { scratchDir } from "./support/dev-stack.js";

const CONTROL = "00000000-0000-4000-8000-0000000000c0";
const MINTING = "00000000-0000-4000-8000-0000000000a0";
const identities = { controlClientId: CONTROL, mintingClientId: MINTING };
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const GH = "https://token.actions.githubusercontent.com";
const ID_FLAGS = ["--control-client-id", CONTROL, "--minting-client-id", MINTING];

const profiles = {
  "ado-read": {
    kind: "entra",
    scope: "499b84ac-1321-427f-aa17-267ca6975798/.default",
    credential: { type: "managed-identity" },
  },
  feed: { kind: "pat", secret: "pat-feed" },
};
const goodGrants = [
  {
    description: "build agents",
    match: { tid: TENANT, appid: ["app-1", "app-2"] },
    profiles: ["ado-read", "feed"],
  },
  {
    description: "main of contoso/app",
    match: { iss: GH, sub: "repo:contoso/app:ref:refs/heads/main" },
    profiles: ["ado-read"],
  },
];

function file(content: unknown, name = "policy.json"): string {
  const f = path.join(scratchDir(), name);
  writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return f;
}

const problemsOf = (text: string, options: { devStack?: boolean } = {}) => {
  const r = checkPolicyText(text, { identities, ...options });
  return r.ok ? [] : r.problems.map(formatProblem);
};

describe("the policy check (the broker's load and `policy check` alike)", () => {
  test("each kind of mistake, with its JSON path", () => {
    const cases: [unknown, string][] = [
      [{ profiles, grants: [{ ...goodGrants[0], colour: "red" }] }, "$.grants[0].colour: unknown key"],
      [{ profiles, grants: goodGrants, extra: true }, "$.extra: unknown key"],
      [
        { profiles, grants: [{ match: { tid: TENANT }, profiles: ["feed", "nope"] }] },
        "$.grants[0].profiles[1]: names no profile",
      ],
      [
        { profiles, grants: [{ match: { iss: GH, sub: { pattern: "(a)\\1" } }, profiles: ["feed"] }] },
        "$.grants[0].match.sub.pattern: must be a valid RE2 regular expression (no backreferences or lookaround: matching must stay linear-time)",
      ],
      [
        { profiles, grants: [{ match: { iss: GH }, roles: ["Policy.Read"] }] },
        "$.grants[0].match: a grant with roles for an issuer must match exact claims besides iss (no patterns)",
      ],
      [
        { profiles, grants: [{ match: { iss: GH, repository: "contoso/app" }, roles: ["Secrets.Admin"] }] },
        "$.grants[0].match.sub: Secrets.Admin for an issuer's tokens needs one exact sub",
      ],
      [
        {
          profiles: {
            "as-broker": {
              ...profiles["ado-read"],
              credential: { type: "managed-identity", clientId: CONTROL },
            },
          },
          grants: [],
        },
        `$.profiles["as-broker"].credential.clientId: resolves to the broker's control identity (AZURE_CLIENT_ID), which opens the vault, storage and Graph: mint with a separate identity`,
      ],
      [
        { profiles, grants: [{ match: { "bad claim": "x" }, profiles: ["feed"] }] },
        '$.grants[0].match["bad claim"]: must be a claim name',
      ],
      [
        { profiles, grants: [{ match: { sub: 7 }, profiles: ["feed"] }] },
        '$.grants[0].match.sub: must be a claim value, a non-empty list of them or {"pattern": "…"}',
      ],
    ];
    for (const [doc, line] of cases) assert.deepEqual(problemsOf(JSON.stringify(doc)), [line], line);
  });

  test("not JSON: where it breaks, never what it says; a repeated key: where it repeats", () => {
    const text = '{\n  "profiles": {},\n  "grants": [ "secret-canary" \n';
    const [line] = problemsOf(text);
    assert.match(line ?? "", /^\$: is not valid JSON \(line \d+, column \d+\)$/);
    assert.equal(
      problemsOf('{"profiles": {}, "grants": [], }')[0],
      "$: is not valid JSON (line 1, column 32)",
    );
    const repeated = JSON.stringify({ profiles, grants: goodGrants }).replace('"sub":', '"sub": "x", "sub":');
    assert.deepEqual(problemsOf(repeated), [
      "$.grants[1].match.sub: repeats a key of the same object (JSON readers disagree on which one counts)",
    ]);
  });

  test("every problem at once, the identity and URL rules too when the schema fails", () => {
    const doc = {
      profiles: {
        ...profiles,
        vault: { ...profiles["ado-read"], credential: { type: "managed-identity", clientId: CONTROL } },
      },
      grants: [{ match: { tid: TENANT }, profiles: ["nope"] }],
      notices: { teams: { "team@contoso.com": "https://127.0.0.1:9443/teams" } },
    };
    assert.deepEqual(problemsOf(JSON.stringify(doc)), [
      "$.grants[0].profiles[0]: names no profile",
      "$.profiles.vault.credential.clientId: resolves to the broker's control identity (AZURE_CLIENT_ID), which opens the vault, storage and Graph: mint with a separate identity",
      '$.notices.teams["team@contoso.com"]: must be https to a non-loopback host (plain http and loopback only with BROKER_DEV_STACK=true)',
    ]);
    // The dev stack allows loopback Teams URLs; the rest stands.
    assert.equal(problemsOf(JSON.stringify(doc), { devStack: true }).length, 2);
  });

  test("the broker's start refuses the same file with the same lines", () => {
    const doc = { profiles, grants: [{ match: { tid: TENANT }, profiles: ["nope"], colour: 1 }] };
    assert.throws(
      () => loadPolicyFile(file(doc), identities),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          "BROKER_POLICY_FILE: invalid policy:\n  $.grants[0].colour: unknown key\n  $.grants[0].profiles[0]: names no profile",
    );
    assert.deepEqual(loadPolicyFile(file({ profiles, grants: goodGrants }), identities).profileNames(), [
      "ado-read",
      "feed",
    ]);
  });

  test("JSON paths and repeated keys, arrays and nesting included", () => {
    assert.equal(jsonPath(["grants", 0, "profiles", 1]), "$.grants[0].profiles[1]");
    assert.equal(jsonPath(["profiles", "ado-read", "$schema"]), '$.profiles["ado-read"].$schema');
    assert.equal(jsonPath([]), "$");
    assert.deepEqual(duplicateKeyPaths('{"a":[{"b":1},{"b":2,"c":{"d":1,"d":2}}],"a":0}'), [
      ["a", 1, "c", "d"],
      ["a"],
    ]);
    assert.deepEqual(duplicateKeyPaths('{"a":"{\\"a\\":1}","b":[[],[{"x":1,"\\u0078":2}]]}'), [
      ["b", 1, 0, "x"],
    ]);
    assert.deepEqual(duplicateKeyPaths('[{"a":1},{"a":1}]'), []);
  });
});

describe("token-broker policy check", () => {
  const expectFile = (cases: unknown) => file(cases, "expect.json");
  const valid = () => file({ profiles, grants: goodGrants });

  test("a valid file: one line, exit 0; problems: one line each, exit 1; usage: exit 2", async () => {
    const ok = await runCli(["policy", "check", valid(), ...ID_FLAGS], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /policy\.json: valid \(2 profiles, 2 grants\)\n$/);

    const bad = file({ profiles, grants: [{ match: { tid: TENANT }, profiles: ["nope"], colour: 1 }] });
    const failed = await runCli(["policy", "check", bad, ...ID_FLAGS], {});
    assert.equal(failed.code, 1);
    assert.equal(
      failed.stdout,
      "$.grants[0].colour: unknown key\n$.grants[0].profiles[0]: names no profile\n",
    );
    assert.match(failed.stderr, /^token-broker: .*policy\.json: 2 problems\n$/);

    const asJson = await runCli(["policy", "check", bad, ...ID_FLAGS, "--json"], {});
    assert.equal(asJson.code, 1);
    assert.deepEqual((JSON.parse(asJson.stdout) as { problems: unknown }).problems, [
      { path: "$.grants[0].colour", message: "unknown key" },
      { path: "$.grants[0].profiles[0]", message: "names no profile" },
    ]);

    for (const args of [
      ["policy", "check"],
      ["policy", "check", "/nonexistent/policy.json"],
      ["policy", "check", valid(), "--minting-client-id", "nope"],
    ]) {
      const usage = await runCli(args, {});
      assert.equal(usage.code, 2, `${args.join(" ")}: ${usage.stderr}`);
    }
  });

  test("the identities come from the flags, else from the settings the broker reads", async () => {
    const policy = valid();
    // No minting identity: the profile without a clientId would mint as the control identity.
    const none = await runCli(["policy", "check", policy], {});
    assert.equal(none.code, 1);
    assert.match(
      none.stdout,
      /^\$\.profiles\["ado-read"\]\.credential: a managed-identity profile needs a clientId, or BROKER_MINTING_CLIENT_ID set/,
    );
    const fromEnv = await runCli(["policy", "check", policy], {
      AZURE_CLIENT_ID: CONTROL,
      BROKER_MINTING_CLIENT_ID: MINTING,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stdout);
    const same = await runCli(["policy", "check", policy], {
      AZURE_CLIENT_ID: CONTROL,
      BROKER_MINTING_CLIENT_ID: CONTROL,
    });
    assert.equal(same.code, 1);
    assert.match(
      same.stdout,
      /resolves to the broker's control identity \(AZURE_CLIENT_ID, through BROKER_MINTING_CLIENT_ID\)/,
    );
    const badEnv = await runCli(["policy", "check", policy], { BROKER_MINTING_CLIENT_ID: "secret-canary" });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /BROKER_MINTING_CLIENT_ID must be a client id GUID/);
    assert.ok(!badEnv.stderr.includes("secret-canary"));
    // Teams URLs: loopback only as the dev stack loads it.
    const teams = file({
      profiles,
      grants: goodGrants,
      notices: { teams: { "a@b.c": "http://127.0.0.1:9/teams" } },
    });
    assert.equal((await runCli(["policy", "check", teams, ...ID_FLAGS], {})).code, 1);
    assert.equal((await runCli(["policy", "check", teams, ...ID_FLAGS, "--dev-stack"], {})).code, 0);
  });

  test("expectations that hold exit 0; one that fails says which, expected and got, and why", async () => {
    const cases = [
      {
        name: "build agents get the feed",
        claims: { tid: TENANT, appid: "app-2" },
        profile: "feed",
        allow: true,
      },
      {
        name: "main gets Azure DevOps",
        claims: { iss: GH, sub: "repo:contoso/app:ref:refs/heads/main" },
        profile: "ado-read",
        allow: true,
      },
      { claims: { iss: GH, sub: "repo:contoso/app:ref:refs/heads/main" }, profile: "feed", allow: false },
      {
        name: "look-alikes from GitHub",
        claims: { iss: GH, tid: TENANT, appid: "app-1" },
        profile: "feed",
        allow: false,
      },
      {
        name: "as Entra when told",
        claims: { iss: GH, tid: TENANT, appid: "app-1" },
        issuer: "entra",
        profile: "feed",
        allow: true,
      },
    ];
    const policy = valid();
    const pass = await runCli(["policy", "check", policy, "--expect", expectFile(cases), ...ID_FLAGS], {});
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.match(pass.stdout, /^ok {4}0 "build agents get the feed": feed allow$/m);
    assert.match(pass.stdout, /valid \(2 profiles, 2 grants\); 5 expectations hold\n$/);
    // The same cases as {"cases": […]}.
    assert.equal(
      (await runCli(["policy", "check", policy, "--expect", expectFile({ cases }), ...ID_FLAGS], {})).code,
      0,
    );

    const wrong = [
      ...cases,
      {
        name: "a pull request must get Azure DevOps",
        claims: { iss: GH, sub: "repo:contoso/app:pull_request" },
        profile: "ado-read",
        allow: true,
      },
      {
        name: "app-1 must not get the feed",
        claims: { tid: TENANT, appid: "app-1" },
        profile: "feed",
        allow: false,
      },
    ];
    const fail = await runCli(["policy", "check", policy, "--expect", expectFile(wrong), ...ID_FLAGS], {});
    assert.equal(fail.code, 1);
    assert.match(fail.stderr, /^token-broker: .*expect\.json: 2 of 7 expectations failed\n$/);
    assert.match(
      fail.stdout,
      /^FAIL {2}5 "a pull request must get Azure DevOps": ado-read: expected allow, got deny$/m,
    );
    assert.match(fail.stdout, /^ {6}grant 1 "main of contoso\/app": does not match$/m);
    assert.match(fail.stdout, /^ {8}✗ sub = "repo:contoso\/app:ref:refs\/heads\/main": value differs$/m);
    assert.match(fail.stdout, /^ {6}grant 0 "build agents": does not match\n {6} {2}no iss in its match/m);
    assert.match(fail.stdout, /^FAIL {2}6 "app-1 must not get the feed": feed: expected deny, got allow$/m);
    assert.match(fail.stdout, /^ {6}grant 0 "build agents": matches$/m);

    const asJson = await runCli(
      ["policy", "check", policy, "--expect", expectFile(wrong), ...ID_FLAGS, "--json"],
      {},
    );
    assert.equal(asJson.code, 1);
    const report = JSON.parse(asJson.stdout) as {
      ok: boolean;
      expectations: { results: { passed: boolean; decision: string }[] };
    };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.expectations.results.map((r) => r.passed),
      [true, true, true, true, true, false, false],
    );
  });

  test("an expectation file with mistakes: each with its path, exit 1", async () => {
    const bad = [
      { claims: { sub: "x" }, profile: "feed" },
      { claims: {}, profile: "feed", allow: "yes", extra: 1 },
    ];
    const r = await runCli(["policy", "check", valid(), "--expect", expectFile(bad), ...ID_FLAGS], {});
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^\$\[0\]\.allow: /m);
    assert.match(r.stdout, /^\$\[1\]\.extra: unknown key$/m);
    assert.match(r.stdout, /^\$\[1\]\.allow: /m);
    assert.match(r.stderr, /expect\.json: 3 problems/);
    const read = parseExpectations('{"cases": [], "cases": []}');
    assert.deepEqual(read.ok ? [] : read.problems.map(formatProblem), [
      "$.cases: repeats a key of the same object (JSON readers disagree on which one counts)",
    ]);
  });

  test("the sample expectations hold for the sample policy, as deployed (two identities)", async () => {
    const r = await runCli(
      [
        "policy",
        "check",
        path.join(ROOT, "policy", "policy.sample.json"),
        "--expect",
        path.join(ROOT, "policy", "expect.sample.json"),
        ...ID_FLAGS,
      ],
      {},
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /policy\.sample\.json: valid \(2 profiles, 2 grants\); 6 expectations hold\n$/);
    assert.doesNotMatch(r.stdout, /FAIL/);
  });

  test("the azd prepackage hook runs this check with the app's identities, and the expectations", () => {
    // A project root of its own: the hook, the built CLI, and a stand-in npm (the build is done).
    const root = scratchDir();
    mkdirSync(path.join(root, "infra/scripts"), { recursive: true });
    mkdirSync(path.join(root, "policy"));
    mkdirSync(path.join(root, "node_modules"));
    mkdirSync(path.join(root, "bin"));
    copyFileSync(
      path.join(ROOT, "infra/scripts/check-policy.sh"),
      path.join(root, "infra/scripts/check-policy.sh"),
    );
    symlinkSync(path.join(ROOT, "dist"), path.join(root, "dist"));
    writeFileSync(path.join(root, "bin/npm"), "#!/bin/sh\nexit 0\n");
    chmodSync(path.join(root, "bin/npm"), 0o755);
    copyFileSync(path.join(ROOT, "policy/policy.sample.json"), path.join(root, "policy/policy.json"));
    const hook = (env: Record<string, string>) =>
      spawnSync("sh", [path.join(root, "infra/scripts/check-policy.sh")], {
        encoding: "utf8",
        env: { PATH: `${path.join(root, "bin")}:${process.env["PATH"] ?? ""}`, ...env },
      });
    // Before the first provision: no identities yet, the deployment makes a separate minting one.
    // The shell's own AZURE_CLIENT_ID (here the stand-in's very id) is not the app's: ignored.
    const first = hook({ AZURE_CLIENT_ID: "00000000-0000-4000-8000-000000000000" });
    assert.equal(first.status, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /^policy\/policy\.json: valid \(2 profiles, 2 grants\)$/m);
    // Provisioned: the azd env's identities; a minting identity that is the control one is refused.
    const same = hook({ BROKER_IDENTITY_CLIENT_ID: CONTROL, BROKER_MINTING_CLIENT_ID: CONTROL });
    assert.equal(same.status, 1);
    assert.match(same.stdout, /resolves to the broker's control identity/);
    copyFileSync(path.join(ROOT, "policy/expect.sample.json"), path.join(root, "policy/expect.json"));
    const expected = hook({ BROKER_IDENTITY_CLIENT_ID: CONTROL, BROKER_MINTING_CLIENT_ID: MINTING });
    assert.equal(expected.status, 0, expected.stdout + expected.stderr);
    assert.match(expected.stdout, /6 expectations hold/);
    writeFileSync(
      path.join(root, "policy/expect.json"),
      JSON.stringify([
        { claims: { iss: GH, sub: "repo:contoso/app:pull_request" }, profile: "ado-read", allow: true },
      ]),
    );
    const broken = hook({});
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /1 of 1 expectation failed/);
  });
});

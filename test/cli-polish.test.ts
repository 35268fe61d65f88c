import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { callerToken, knownPat, startTestStack, type TestStack } from "./support/dev-stack.js";
import { assertOk, assertOneLineFailure, runCli } from "./support/cli-process.js";

/** Issue 12: a CLI that speaks CLI (flags, not API fields; what happened, in words). */

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

interface Shown {
  version: string;
  owner: string;
  updatedOn: string;
  scopes: string[];
}

describe("ops CLI polish, as a process against the dev stack", () => {
  let stack: TestStack;
  let admin: string;
  let env: Record<string, string>;
  const show = async (name: string) =>
    JSON.parse((await runCli(["inventory", "show", name, "--json"], env)).stdout) as Shown;
  /** A PAT Azure DevOps knows, imported with its value, expiring 30 days on; `more` adds flags. */
  const importPat = (name: string, more: string[] = []) =>
    runCli(
      [
        "import",
        name,
        "--kind",
        "pat",
        "--expires",
        "30d",
        "--owner",
        "team-cli@contoso.com",
        ...(more.includes("--org") ? [] : ["--org", "contoso"]),
        ...more,
      ],
      env,
      knownPat(stack),
    );
  const createPat = (name: string, more: string[] = []) =>
    runCli(
      [
        "import",
        name,
        "--kind",
        "pat",
        "--create",
        "--owner",
        "team-cli@contoso.com",
        "--org",
        "contoso",
        "--scopes",
        "vso.code",
        "--lifetime-days",
        "30",
        ...more,
      ],
      env,
    );

  before(async () => {
    stack = await startTestStack({}, { rotationVerify: { retryDelaysMs: [] } });
    admin = await callerToken(stack, "dev-admin");
    env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };
  });
  after(() => stack.close());

  test("--version is the package's version", async () => {
    const r = await runCli(["--version"], {});
    assertOk(r);
    assert.equal(r.stdout, `${PACKAGE_VERSION}\n`);
  });

  test("--url takes the banner's …/api form", async () => {
    for (const url of [`${stack.brokerUrl}/api`, `${stack.brokerUrl}/api/`]) {
      const r = await runCli(["--url", url, "inventory", "show", "pat-contoso-nuget"], env);
      assertOk(r);
      assert.match(r.stdout, /^Name: +pat-contoso-nuget$/m);
    }
  });

  test("import --create on a name that exists refuses and changes nothing, also with --recover", async () => {
    const made = await createPat("pat-polish-exists");
    assertOk(made);
    assert.match(made.stdout, /^Imported pat-polish-exists:/);
    const before = await show("pat-polish-exists");

    const again = await createPat("pat-polish-exists", ["--owner", "someone-else@contoso.com"]);
    assertOneLineFailure(
      again,
      /pat-polish-exists exists already, so --create made nothing and changed nothing/,
    );
    assert.match(again.stderr, /token-broker rotate pat-polish-exists/);
    const recover = await createPat("pat-polish-exists", ["--recover"]);
    assertOneLineFailure(recover, /--create makes a new credential, --recover brings back .*: not both/, 2);
    // The seeded credential, imported with a value: just as refused.
    assertOneLineFailure(await createPat("pat-contoso-nuget"), /pat-contoso-nuget exists already/);

    assert.deepEqual(await show("pat-polish-exists"), before, "nothing changed");
  });

  test("the API: If-None-Match: * refuses an existing or a soft-deleted name with 412, before recovering", async () => {
    const put = (name: string, query = "") =>
      stack.api(`/inventory/${name}${query}`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${admin}`,
          "content-type": "application/json",
          "if-none-match": "*",
        },
        body: JSON.stringify({ kind: "pat", owner: "x@contoso.com" }),
      });
    const live = await put("pat-contoso-nuget");
    assert.equal(live.status, 412);
    assert.equal(((await live.json()) as { code: string }).code, "credential_exists");

    assertOk(await importPat("pat-polish-deleted"));
    assertOk(await runCli(["revoke", "pat-polish-deleted", "--yes"], env));
    const deleted = await put("pat-polish-deleted", "?recover=true");
    assert.equal(deleted.status, 412);
    assert.equal(((await deleted.json()) as { code: string }).code, "credential_exists");
    assertOneLineFailure(
      await runCli(["inventory", "show", "pat-polish-deleted"], env),
      /\(404 credential_not_found\)$/m,
    );
  });

  test("a 400 names the CLI's flags, not the API's fields", async () => {
    const r = await importPat("pat-polish-bad", [
      "--owner",
      "=cmd",
      "--authorization-id",
      "not-a-guid",
      "--org",
      "-bad-",
    ]);
    assertOneLineFailure(r, /\(400 invalid_request\)$/m);
    assert.match(r.stderr, /--owner must be one printable line/);
    assert.match(r.stderr, /--authorization-id must be a GUID/);
    assert.match(r.stderr, /--org must be an Azure DevOps organization name/);
    assert.doesNotMatch(r.stderr, /\b(owner|authorizationId|organization):/);
  });

  test("a bad --scopes value is named, with a few valid ones and where the rest are", async () => {
    const r = await importPat("pat-polish-scope", ["--org", "contoso", "--scopes", "vso.code,vso.foo"]);
    assertOneLineFailure(
      r,
      /--scopes: unknown scope vso\.foo; valid scopes include vso\.code, vso\.packaging, vso\.build.*token-broker import --help/,
    );
    assert.ok(r.stderr.length < 300, "a few scopes, not all of them cut off");
    assert.doesNotMatch(r.stderr, /expected one of|app_token/);
    const help = await runCli(["import", "--help"], {});
    assert.match(help.stdout, /Scopes \(--scopes, pat\):[\s\S]*vso\.work_write/);
  });

  test("--expires takes a duration from now", async () => {
    const r = await importPat("pat-polish-relative");
    assertOk(r);
    assert.match(
      r.stdout,
      /^Imported pat-polish-relative: pat, expires \d{4}-\d{2}-\d{2}, (29|30) days left/,
    );
  });

  test("inventory list --continuation gives the page after", async () => {
    const first = await runCli(["inventory", "list", "--top", "1", "--json"], env);
    assertOk(first);
    const one = JSON.parse(first.stdout) as { items: { name: string }[]; continuation: string };
    assert.equal(typeof one.continuation, "string");
    const next = await runCli(
      ["inventory", "list", "--top", "1", "--continuation", one.continuation, "--json"],
      env,
    );
    assertOk(next);
    const two = JSON.parse(next.stdout) as { items: { name: string }[] };
    assert.equal(two.items.length, 1);
    assert.notEqual(two.items[0]?.name, one.items[0]?.name);

    const text = await runCli(["inventory", "list", "--top", "1"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, /the next page with --continuation \S+/);
    const bad = await runCli(["inventory", "list", "--continuation", "bogus"], env);
    assertOneLineFailure(
      bad,
      /--continuation is not a continuation this inventory gave \(400 invalid_request\)/,
    );
  });

  test("sweep rotation and sweep notices: a text summary, or the report as JSON", async () => {
    const rotation = await runCli(["sweep", "rotation"], env);
    assertOk(rotation);
    assert.match(rotation.stdout, /^Rotation sweep: checked \d+\n/);
    for (const label of [
      "rotated",
      "pending verification",
      "revoked",
      "orphans revoked",
      "skipped",
      "failed",
    ]) {
      assert.match(rotation.stdout, new RegExp(`^${label} \\d+`, "m"), label);
    }
    const rotationJson = await runCli(["sweep", "rotation", "--json"], env);
    assertOk(rotationJson);
    const report = JSON.parse(rotationJson.stdout) as Record<string, unknown>;
    for (const key of ["rotated", "pending", "revoked", "orphansRevoked", "skipped", "failed", "checked"]) {
      assert.ok(key in report, key);
    }

    const notices = await runCli(["sweep", "notices"], env);
    assertOk(notices);
    assert.match(notices.stdout, /^Notice sweep: checked \d+\n/);
    assert.match(notices.stdout, /^notified \d+/m);
    assert.match(notices.stdout, /^already notified \d+/m);
    const noticesJson = JSON.parse((await runCli(["sweep", "notices", "--json"], env)).stdout) as {
      notified: unknown[];
      alreadyNotified: unknown[];
      checked: number;
    };
    assert.ok(Array.isArray(noticesJson.notified) && Array.isArray(noticesJson.alreadyNotified));
    // The first sweep sent what was due: the second finds it sent.
    assert.equal(noticesJson.notified.length, 0);
  });

  test("revoke says what happened upstream, in words", async () => {
    const recoverable = /; recoverable for \d+ days \(token-broker import \S+ --recover …\)\n$/;

    assertOk(await importPat("pat-polish-noid", ["--org", "contoso"]));
    const noId = await runCli(["revoke", "pat-polish-noid", "--yes"], env);
    assertOk(noId);
    assert.match(
      noId.stdout,
      /^Deleted pat-polish-noid; nothing was revoked upstream: no authorization id or key id recorded/,
    );
    assert.match(noId.stdout, recoverable);

    assertOk(await createPat("pat-polish-made"));
    const made = await runCli(["revoke", "pat-polish-made", "--yes"], env);
    assertOk(made);
    assert.match(made.stdout, /^Revoked pat-polish-made upstream \(it no longer works\) and deleted it;/);

    assertOk(await createPat("pat-polish-skip"));
    const skipped = await runCli(["revoke", "pat-polish-skip", "--skip-upstream", "--yes"], env);
    assertOk(skipped);
    assert.match(
      skipped.stdout,
      /^Deleted pat-polish-skip without revoking it upstream \(--skip-upstream\): it works until it expires/,
    );
    assert.match(skipped.stdout, recoverable);

    const unknownId = "0a0b0c0d-1111-4222-8333-444455556666";
    assertOk(await importPat("pat-polish-unknown", ["--org", "contoso", "--authorization-id", unknownId]));
    const unknown = await runCli(["revoke", "pat-polish-unknown", "--yes"], env);
    assertOk(unknown);
    assert.match(unknown.stdout, /^Deleted pat-polish-unknown; upstream did not know it/);

    assertOk(await importPat("pat-polish-json"));
    const json = await runCli(["revoke", "pat-polish-json", "--skip-upstream", "--yes", "--json"], env);
    assertOk(json);
    assert.equal((JSON.parse(json.stdout) as { upstreamRevocation: string }).upstreamRevocation, "skipped");
  });

  test("rotate says whether the old credential will be revoked", async () => {
    assertOk(await createPat("pat-polish-rotate"));
    const made = await runCli(["rotate", "pat-polish-rotate"], env);
    assertOk(made);
    assert.match(
      made.stdout,
      /^Rotated pat-polish-rotate: new version [0-9a-f]{32}; the old credential \(authorization id [0-9a-f-]{36}\) is revoked upstream once the grace period has passed/,
    );

    assertOk(
      await importPat("pat-polish-rotate-noid", [
        "--org",
        "contoso",
        "--scopes",
        "vso.code",
        "--lifetime-days",
        "30",
      ]),
    );
    const noId = await runCli(["rotate", "pat-polish-rotate-noid"], env);
    assertOk(noId);
    assert.match(
      noId.stdout,
      /^Rotated pat-polish-rotate-noid: new version [0-9a-f]{32}; the old credential is NOT revoked: no authorization id was recorded/,
    );
    assert.doesNotMatch(noId.stdout, /grace/);
  });
});

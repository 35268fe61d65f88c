import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { randomPat } from "../src/local/sample-data.js";
import { runCli } from "./support/cli-process.js";
import { callerToken, knownPat, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

/** PUT /api/inventory/{name} with a PAT value: proven at Azure DevOps (the dev stack's emulator) first. */
describe("imports prove a PAT value before storing it", () => {
  let stack: TestStack;
  let admin: string;
  const canaries: string[] = [];
  const texts: string[] = [];

  async function put(name: string, body: Record<string, unknown>, query = ""): Promise<Answer> {
    const res = await stack.api(`/inventory/${name}${query}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
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
  const pat = (value: string, extra: Record<string, unknown> = {}) => {
    canaries.push(value);
    return {
      kind: "pat",
      value,
      expiresOn: new Date(Date.now() + 30 * DAY).toISOString(),
      owner: "team@contoso.com",
      organization: "contoso",
      ...extra,
    };
  };
  const checks = () => stack.devops.stats().byOperation.connectionData ?? 0;
  const versions = async (name: string) => {
    const res = await stack.api(`/inventory/${name}/versions`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    if (res.status === 404) return [];
    return ((await res.json()) as { items: { version: string }[] }).items.map((i) => i.version);
  };

  before(async () => {
    stack = await startTestStack();
    admin = await callerToken(stack, "dev-admin");
  });
  after(() => stack.close());

  test("a value Azure DevOps accepts is stored (one connectionData call)", async () => {
    const before = checks();
    const res = await put("verify-ok", pat(knownPat(stack)));
    assert.equal(res.status, 201, res.text);
    assert.equal(checks(), before + 1);
    assert.equal((await stack.runtime.store.getSecret("verify-ok")).value, canaries.at(-1));
  });

  test("a refused value is 422 pat_rejected without Retry-After; the stored one stays current", async () => {
    const good = knownPat(stack);
    assert.equal((await put("verify-refused", pat(good))).status, 201);
    const kept = await versions("verify-refused");

    const refused = await put("verify-refused", pat(randomPat()));
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.body["code"], "pat_rejected");
    assert.equal(
      refused.body["detail"],
      "Azure DevOps refused the PAT for organization contoso; nothing was stored.",
    );
    assert.equal(refused.headers.get("retry-after"), null);
    assert.deepEqual(await versions("verify-refused"), kept, "no new version");
    assert.equal((await stack.runtime.store.getSecret("verify-refused")).value, good);

    // A PAT of another organization is refused for this one too; a new name is not created.
    const elsewhere = await put("verify-new", pat(knownPat(stack, "fabrikam")));
    assert.equal(elsewhere.status, 422, elsewhere.text);
    assert.equal((await versions("verify-new")).length, 0);
  });

  test("an organization Azure DevOps does not know is 422 organization_not_found", async () => {
    const res = await put("verify-no-org", pat(randomPat(), { organization: "nowhere" }));
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body["code"], "organization_not_found");
  });

  test("Azure DevOps down or throttled: 503 upstream_unavailable with Retry-After, nothing stored", async () => {
    for (const fault of [
      { status: 503, retryAfterSeconds: 7 },
      { status: 429, retryAfterSeconds: 11 },
      { status: 500 },
    ] as const) {
      stack.devops.injectFault({ ...fault, count: 1, operation: "connectionData" });
      const res = await put("verify-down", pat(knownPat(stack)));
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body["code"], "upstream_unavailable");
      assert.equal(
        res.headers.get("retry-after"),
        String(fault.status === 500 ? 5 : fault.retryAfterSeconds),
      );
      assert.equal((await versions("verify-down")).length, 0, "nothing stored");
    }
  });

  test("verify: false stores without asking Azure DevOps; it is only for a PAT value", async () => {
    const before = checks();
    const res = await put("verify-skipped", pat(randomPat(), { verify: false }));
    assert.equal(res.status, 201, res.text);
    assert.equal(checks(), before, "no connectionData call");

    const noValue = await put("verify-skipped", { kind: "pat", owner: "x@contoso.com", verify: false });
    assert.equal(noValue.status, 400, noValue.text);
    assert.deepEqual(
      (noValue.body["errors"] as { field: string }[]).map((e) => e.field),
      ["verify"],
    );
  });

  test("a global PAT (allOrgs) is refused with its reason, unchecked; a PAT without organization must name one", async () => {
    let before = checks();
    // Import, import alongside an organization, and a broker-made one: the same stable answer.
    for (const body of [
      pat(randomPat(), { organization: undefined, allOrgs: true }),
      pat(randomPat(), { allOrgs: true }),
      { kind: "pat", owner: "team@contoso.com", allOrgs: true, scopes: ["vso.code"], lifetimeDays: 30 },
    ]) {
      const global = await put("verify-global", body);
      assert.equal(global.status, 400, global.text);
      assert.equal(global.body["code"], "global_pat_retired");
      assert.match(String(global.body["detail"]), /2026-12-01/);
      assert.match(String(global.body["detail"]), /one PAT per organization/);
    }
    assert.equal(checks(), before);
    assert.equal((await versions("verify-global")).length, 0, "nothing stored");
    // An update of a stored PAT that would make it global: refused the same way, nothing changed.
    assert.equal((await put("verify-made-global", pat(knownPat(stack)))).status, 201);
    const update = await put("verify-made-global", { kind: "pat", allOrgs: true });
    assert.equal(update.status, 400, update.text);
    assert.equal(update.body["code"], "global_pat_retired");
    before = checks();

    const none = await put("verify-orgless", pat(randomPat(), { organization: undefined }));
    assert.equal(none.status, 400, none.text);
    assert.deepEqual(
      (none.body["errors"] as { field: string }[]).map((e) => e.field),
      ["organization"],
    );
    assert.equal(checks(), before);
  });

  test("recovering a soft-deleted credential with a refused value leaves it deleted", async () => {
    assert.equal((await put("verify-deleted", pat(knownPat(stack)))).status, 201);
    await stack.runtime.store.deleteSecret("verify-deleted");
    const refused = await put("verify-deleted", pat(randomPat()), "?recover=true");
    assert.equal(refused.status, 422, refused.text);
    assert.ok(
      (await stack.runtime.store.getDeletedProperties("verify-deleted")) !== undefined,
      "still deleted",
    );
    const recovered = await put("verify-deleted", pat(knownPat(stack)), "?recover=true");
    assert.equal(recovered.status, 200, recovered.text);
  });

  test("the CLI checks too, and --no-verify sends verify: false", async () => {
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };
    const args = [
      "import",
      "verify-cli",
      "--kind",
      "pat",
      "--expires",
      "2030-01-01",
      "--owner",
      "o@contoso.com",
      "--org",
      "contoso",
    ];
    const value = randomPat();
    canaries.push(value);
    const refused = await runCli(args, env, value);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^token-broker: [^\n]*pat_rejected[^\n]*\n$/);
    const skipped = await runCli([...args, "--no-verify"], env, value);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stdout, /^Imported verify-cli:/);
    assert.ok(![refused, skipped].some((r) => (r.stdout + r.stderr).includes(value)));
  });

  test("no PAT value in any answer, log or audit line", () => {
    assert.ok(canaries.length >= 12);
    assert.deepEqual(logsContain(stack.logs, canaries), []);
    assert.deepEqual(
      canaries.filter((c) => texts.some((t) => t.includes(c))),
      [],
    );
    const audits = stack.logs.filter((l) => l.includes('"event":"audit.inventory"'));
    assert.ok(
      audits.some((l) => l.includes('"code":"pat_rejected"')),
      "the refusal is audited",
    );
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { randomPat } from "../src/local/sample-data.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken, knownPat, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
/** A legacy-format PAT: 52 characters of lowercase base32. */
const legacyPat = () => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "";
  for (let i = 0; i < 52; i++) out += alphabet.charAt(Math.floor(Math.random() * alphabet.length));
  return out;
};

interface Item {
  name: string;
  kind: string;
  owner: string | null;
  status: string;
  daysLeft: number | null;
  version: string;
  rotatedOn: string | null;
  scopes: string[];
  warnings: string[];
  [key: string]: unknown;
}
interface Page {
  items: Item[];
  continuation: string | null;
}
interface ProblemBody {
  status: number;
  code: string;
  errors?: { field: string; message: string }[];
}

describe("inventory API on the dev stack", () => {
  let stack: TestStack;
  let vault: SecretClient;
  let admin: string;
  let ops: string;
  let caller: string;
  const canaries: string[] = [];
  const texts: string[] = [];

  /** Every answer's text is kept: no canary may appear in any of them. */
  async function call(path: string, token: string | undefined, init: RequestInit = {}) {
    const res = await stack.api(path, {
      ...init,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
    const text = await res.text();
    texts.push(text);
    return { res, text, json: () => JSON.parse(text) as unknown };
  }
  const put = (name: string, body: unknown, token = admin, query = "") =>
    call(`/inventory/${name}${query}`, token, { method: "PUT", body: JSON.stringify(body) });
  const pat = (overrides: Record<string, unknown> = {}) => {
    const value = knownPat(stack);
    canaries.push(value);
    return {
      kind: "pat",
      value,
      expiresOn: inDays(30),
      owner: "team-a@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      ...overrides,
    };
  };

  before(async () => {
    stack = await startTestStack();
    vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    [admin, ops, caller] = await Promise.all([
      callerToken(stack, "dev-admin"),
      callerToken(stack, "dev-ops"),
      callerToken(stack, "dev-caller"),
    ]);
  });

  after(async () => {
    await stack.close();
  });

  test("imports both PAT formats: 201 with metadata only, then GET shows it", async () => {
    const modern = pat({
      rotation: "auto",
      lifetimeDays: 30,
      authorizationId: "0f8fad5b-d9cb-469f-a165-70867728950e",
    });
    const created = await put("pat-modern", modern);
    assert.equal(created.res.status, 201, created.text);
    assert.equal(created.res.headers.get("location"), "/api/inventory/pat-modern");
    assert.equal(created.res.headers.get("cache-control"), "no-store");
    const item = created.json() as Item;
    assert.equal(item.name, "pat-modern");
    assert.equal(item.kind, "pat");
    assert.equal(item.status, "active");
    assert.equal(item.rotation, "auto");
    assert.equal(item.organization, "contoso");
    assert.deepEqual(item.scopes, ["vso.code"]);
    assert.equal(item.authorizationId, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert.ok(item.daysLeft === 29 || item.daysLeft === 30);
    assert.equal(item["value"], undefined);

    const legacyValue = knownPat(stack, "contoso", legacyPat());
    canaries.push(legacyValue);
    const legacy = await put("pat-legacy", {
      ...pat(),
      value: legacyValue,
      expiresOn: inDays(3),
      scopes: ["app_token"],
    });
    assert.equal(legacy.res.status, 201, legacy.text);
    const legacyItem = legacy.json() as Item;
    assert.equal(legacyItem.status, "expiring");
    assert.deepEqual(legacyItem.warnings, ["full-scope-pat"]);

    // What the vault holds is what was sent, under the tags of DESIGN §4.
    const stored = await vault.getSecret("pat-legacy");
    assert.equal(stored.value, legacyValue);
    assert.equal(stored.properties.contentType, "application/vnd.azure-devops.pat");
    assert.equal(stored.properties.tags?.["managed-by"], "token-broker");
    assert.equal(stored.properties.tags["org"], "contoso");
    assert.equal(stored.properties.tags["scopes"], "app_token");

    const shown = await call("/inventory/pat-modern", ops);
    assert.equal(shown.res.status, 200);
    assert.equal((shown.json() as Item).version, item.version);
  });

  test("refuses malformed PATs and bad fields with 400 naming the field, never the value", async () => {
    const good = randomPat();
    const bad: [string, string][] = [
      ["83 characters", good.slice(1)],
      ["no AZDO signature", `${good.slice(0, 76)}ABCD${good.slice(80)}`],
      ["legacy with uppercase", legacyPat().toUpperCase()],
      ["legacy with a 1", `1${legacyPat().slice(1)}`],
      ["spaces", `${good.slice(0, 40)} ${good.slice(41)}`],
    ];
    for (const [why, value] of bad) {
      canaries.push(value);
      const res = await put("pat-bad", { ...pat(), value });
      assert.equal(res.res.status, 400, why);
      assert.equal(res.res.headers.get("content-type"), "application/problem+json");
      const body = res.json() as ProblemBody;
      assert.deepEqual(
        body.errors?.map((e) => e.field),
        ["value"],
        why,
      );
      assert.ok(!res.text.includes(value), why);
    }
    const fields: [string, Record<string, unknown>, string][] = [
      ["past expiry", { expiresOn: inDays(-1) }, "expiresOn"],
      ["no zone", { expiresOn: "2030-01-01T00:00:00" }, "expiresOn"],
      ["unknown scope", { scopes: ["vso.everything"] }, "scopes.0"],
      ["unknown field", { colour: "blue" }, "(body)"],
      ["owner like a formula", { owner: "=HYPERLINK(1)" }, "owner"],
      [
        "scopes on a client secret",
        { kind: "client-secret", value: "abc~def.ghi_jkl-mno", scopes: ["vso.code"] },
        "scopes",
      ],
      ["auto rotation without lifetime", { rotation: "auto" }, "rotation"],
    ];
    for (const [why, overrides, field] of fields) {
      const res = await put("pat-bad", pat(overrides));
      assert.equal(res.res.status, 400, `${why}: ${res.text}`);
      assert.ok(
        (res.json() as ProblemBody).errors?.some((e) => e.field === field),
        `${why}: ${res.text}`,
      );
    }
    const noOwner: Record<string, unknown> = pat();
    delete noOwner["owner"];
    const missing = await put("pat-bad", noOwner);
    assert.equal(missing.res.status, 400);
    assert.equal((missing.json() as ProblemBody).errors?.[0]?.field, "owner");
    const badName = await put("bad_name", pat());
    assert.equal(badName.res.status, 400);
    const longName = await put("a".repeat(128), pat());
    assert.equal(longName.res.status, 400);
    const notJson = await call("/inventory/pat-bad", admin, {
      method: "PUT",
      body: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(notJson.res.status, 400);
    const form = await call("/inventory/pat-bad", admin, {
      method: "PUT",
      body: "a=b",
      headers: { "content-type": "text/plain" },
    });
    assert.equal(form.res.status, 415);
    assert.equal(await vault.getSecret("pat-bad").catch(() => undefined), undefined);
  });

  test("updates: a new value is a new version; metadata alone keeps the version", async () => {
    const first = (await put("pat-update", pat())).json() as Item;
    const next = await put("pat-update", pat({ owner: "team-b@contoso.com" }));
    assert.equal(next.res.status, 200, next.text);
    const second = next.json() as Item;
    assert.notEqual(second.version, first.version);
    assert.equal(second.owner, "team-b@contoso.com");
    assert.ok(second.rotatedOn !== null);

    const meta = await put("pat-update", { kind: "pat", owner: "team-c@contoso.com", expiresOn: inDays(20) });
    assert.equal(meta.res.status, 200, meta.text);
    const third = meta.json() as Item;
    assert.equal(third.version, second.version);
    assert.equal(third.owner, "team-c@contoso.com");
    assert.deepEqual(third.scopes, ["vso.code"]);

    const versions = await call("/inventory/pat-update/versions", ops);
    assert.equal(versions.res.status, 200);
    const list = (versions.json() as { items: { version: string; current: boolean }[] }).items;
    assert.equal(list.length, 2);
    assert.deepEqual(
      list.filter((v) => v.current).map((v) => v.version),
      [second.version],
    );

    const kind = await put("pat-update", {
      kind: "client-secret",
      value: "abc~def.ghi_jkl-mno",
      expiresOn: inDays(5),
    });
    assert.equal(kind.res.status, 409);
    assert.equal((kind.json() as ProblemBody).code, "kind_mismatch");
  });

  test("roles: no token 401, no role 403, ops read, only admins write", async () => {
    const none = await call("/inventory", undefined);
    assert.equal(none.res.status, 401);
    assert.match(none.res.headers.get("www-authenticate") ?? "", /^Bearer /);
    const garbage = await call("/inventory", "not-a-jwt");
    assert.equal(garbage.res.status, 401);
    const noRole = await call("/inventory", caller);
    assert.equal(noRole.res.status, 403);
    assert.equal((noRole.json() as ProblemBody).code, "insufficient_role");
    assert.equal((await call("/inventory", ops)).res.status, 200);
    const opsWrite = await put("pat-ops", pat(), ops);
    assert.equal(opsWrite.res.status, 403);
    assert.equal((await call("/inventory/pat-modern", ops, { method: "DELETE" })).res.status, 403);
    assert.equal((await call("/inventory/pat-modern", caller)).res.status, 403);
    const wrongMethod = await call("/inventory", admin, { method: "POST" });
    assert.equal(wrongMethod.res.status, 405);
  });

  test("pages 30 items with top=10: every one exactly once, nothing unmanaged", async () => {
    for (let i = 0; i < 30; i++) {
      const res = await put(`page-${String(i).padStart(2, "0")}`, pat({ owner: "paging@contoso.com" }));
      assert.equal(res.res.status, 201);
    }
    const seen: string[] = [];
    let continuation: string | null = null;
    let pages = 0;
    do {
      const query = `?owner=paging%40contoso.com&top=10${continuation !== null ? `&continuation=${encodeURIComponent(continuation)}` : ""}`;
      const res = await call(`/inventory${query}`, ops);
      assert.equal(res.res.status, 200, res.text);
      const page = res.json() as Page;
      assert.ok(page.items.length <= 10);
      seen.push(...page.items.map((i) => i.name));
      continuation = page.continuation;
      pages += 1;
    } while (continuation !== null && pages < 10);
    assert.equal(seen.length, 30);
    assert.equal(new Set(seen).size, 30);

    // Unfiltered: the seeded unmanaged secret never shows.
    const all: string[] = [];
    continuation = null;
    do {
      const res = await call(
        `/inventory?top=7${continuation !== null ? `&continuation=${encodeURIComponent(continuation)}` : ""}`,
        ops,
      );
      const page = res.json() as Page;
      all.push(...page.items.map((i) => i.name));
      continuation = page.continuation;
    } while (continuation !== null);
    assert.equal(new Set(all).size, all.length);
    assert.ok(all.includes("pat-contoso-nuget"));
    assert.ok(!all.includes("unrelated-db-password"));
  });

  test("filters by kind, status, owner and expiry; bad values are 400", async () => {
    await vault.setSecret("filter-disabled", randomPat(), {
      enabled: false,
      expiresOn: new Date(Date.now() + 40 * DAY),
      tags: { "managed-by": "token-broker", kind: "pat", owner: "filters@contoso.com" },
    });
    await vault.setSecret("filter-expired", randomPat(), {
      expiresOn: new Date(Date.now() - DAY),
      tags: { "managed-by": "token-broker", kind: "pat", owner: "filters@contoso.com" },
    });
    await put("filter-soon", pat({ owner: "filters@contoso.com", expiresOn: inDays(2) }));
    await put("filter-later", pat({ owner: "Filters@Contoso.com", expiresOn: inDays(60) }));
    const secret = "client~secret.value_Canary-1234";
    canaries.push(secret);
    await put("filter-app", {
      kind: "client-secret",
      value: secret,
      expiresOn: inDays(90),
      owner: "filters@contoso.com",
    });

    const names = async (query: string) => {
      const res = await call(`/inventory?owner=filters%40contoso.com&${query}`, ops);
      assert.equal(res.res.status, 200, res.text);
      return (res.json() as Page).items.map((i) => i.name).sort();
    };
    assert.deepEqual(await names("kind=client-secret"), ["filter-app"]);
    assert.deepEqual(await names("status=disabled"), ["filter-disabled"]);
    assert.deepEqual(await names("status=expired"), ["filter-expired"]);
    assert.deepEqual(await names("status=expiring"), ["filter-soon"]);
    assert.deepEqual(await names("expiringWithinDays=7"), ["filter-expired", "filter-soon"]);
    assert.deepEqual(await names("kind=pat&status=active"), ["filter-later"]);

    const shown = (await call("/inventory/filter-disabled", ops)).json() as Item;
    assert.equal(shown.status, "disabled");
    assert.equal(shown.enabled, false);

    for (const bad of [
      "status=fine",
      "kind=password",
      "top=0",
      "top=101",
      "top=ten",
      "expiringWithinDays=-1",
      "colour=red",
      "top=5&top=6",
      "format=xml",
      "format=csv&top=5",
      "continuation=bm90LWEtdG9rZW4",
    ]) {
      const res = await call(`/inventory?${bad}`, ops);
      assert.equal(res.res.status, 400, bad);
      assert.equal(res.res.headers.get("content-type"), "application/problem+json", bad);
    }
    // Malformed percent-encoding is refused, not read leniently into some other value.
    const malformed = await call("/inventory?owner=%E0%A4%A", ops);
    assert.equal(malformed.res.status, 400, malformed.text);
    // A continuation that would point the vault client at another host is refused unfetched.
    const forged = Buffer.from(JSON.stringify({ v: 1, p: "https://attacker.example/secrets?x=1" })).toString(
      "base64url",
    );
    assert.equal((await call(`/inventory?continuation=${forged}`, ops)).res.status, 400);
  });

  test("CSV: RFC 4180 with a header row, every match, nothing secret", async () => {
    await put("csv-comma", pat({ owner: 'Team "Build", Contoso' }));
    const res = await call("/inventory?format=csv&owner=Team%20%22Build%22%2C%20Contoso", ops);
    assert.equal(res.res.status, 200, res.text);
    assert.match(res.res.headers.get("content-type") ?? "", /^text\/csv; charset=utf-8/);
    const lines = res.text.split("\r\n");
    assert.equal(
      lines[0],
      "name,kind,owner,organization,scopes,expiresOn,daysLeft,status,rotation,rotatedOn,version,enabled,createdOn,updatedOn",
    );
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.match(lines[1] ?? "", /^csv-comma,pat,"Team ""Build"", Contoso",contoso,vso\.code,/);

    const all = await call("/inventory?format=csv", ops);
    const rows = all.text.trim().split("\r\n").slice(1);
    assert.ok(rows.some((r) => r.startsWith("pat-contoso-nuget,")));
    assert.ok(!rows.some((r) => r.startsWith("unrelated-db-password,")));
  });

  test("unknown and unmanaged names are 404; an unmanaged name is never overwritten or deleted", async () => {
    const unknown = await call("/inventory/no-such-credential", ops);
    assert.equal(unknown.res.status, 404);
    assert.equal((unknown.json() as ProblemBody).code, "credential_not_found");
    assert.equal((await call("/inventory/unrelated-db-password", ops)).res.status, 404);
    assert.equal((await call("/inventory/unrelated-db-password/versions", ops)).res.status, 404);
    const before = await vault.getSecret("unrelated-db-password");
    const taken = await put("unrelated-db-password", pat());
    assert.equal(taken.res.status, 409);
    assert.equal((taken.json() as ProblemBody).code, "name_in_use");
    assert.equal(
      (await call("/inventory/unrelated-db-password", admin, { method: "DELETE" })).res.status,
      404,
    );
    const afterwards = await vault.getSecret("unrelated-db-password");
    assert.equal(afterwards.properties.version, before.properties.version);
    assert.equal(afterwards.value, before.value);
  });

  test("revoke soft-deletes; the name then needs ?recover=true to be imported again", async () => {
    await put("pat-revoke", pat());
    const revoked = await call("/inventory/pat-revoke", admin, { method: "DELETE" });
    assert.equal(revoked.res.status, 200, revoked.text);
    const result = revoked.json() as Record<string, unknown>;
    assert.equal(result["deleted"], true);
    assert.equal(result["upstreamRevocation"], "not-applicable");
    assert.equal(result["recoverableDays"], 90);
    assert.equal((await call("/inventory/pat-revoke", ops)).res.status, 404);
    assert.equal((await vault.getDeletedSecret("pat-revoke")).name, "pat-revoke");

    const again = await put("pat-revoke", pat());
    assert.equal(again.res.status, 409);
    assert.equal((again.json() as ProblemBody).code, "credential_deleted");
    const recovered = await put("pat-revoke", pat(), admin, "?recover=true");
    assert.equal(recovered.res.status, 200, recovered.text);
    assert.equal((await call("/inventory/pat-revoke", ops)).res.status, 200);
    const versions = (await call("/inventory/pat-revoke/versions", ops)).json() as { items: unknown[] };
    assert.equal(versions.items.length, 2);
  });

  test("cost: one vault page per list call, and an export reads each vault page once", async () => {
    stack.keyVault.resetStats();
    const page = await call("/inventory?top=10", ops);
    assert.equal(page.res.status, 200);
    assert.equal(stack.keyVault.stats().requests, 1);

    const secrets = [];
    for await (const p of vault.listPropertiesOfSecrets()) secrets.push(p.name);
    // The vault's pages are windows over live and soft-deleted secrets alike (the latter skipped).
    for await (const d of vault.listDeletedSecrets()) secrets.push(d.name);
    stack.keyVault.resetStats();
    const csv = await call("/inventory?format=csv", ops);
    assert.equal(csv.res.status, 200);
    assert.equal(stack.keyVault.stats().requests, Math.ceil(secrets.length / 25));
  });

  test("Key Vault throttling: retried by the SDK, then 503 with Retry-After when it persists", async () => {
    stack.keyVault.resetStats();
    stack.keyVault.injectFault({ status: 429, count: 1, retryAfterSeconds: 0, operation: "listSecrets" });
    const retried = await call("/inventory?top=5", ops);
    assert.equal(retried.res.status, 200, retried.text);
    assert.equal(stack.keyVault.stats().byOperation.listSecrets, 2);

    stack.keyVault.injectFault({ status: 429, count: 50, retryAfterSeconds: 0, operation: "listSecrets" });
    const throttled = await call("/inventory?top=5", ops);
    stack.keyVault.clearFaults();
    assert.equal(throttled.res.status, 503, throttled.text);
    assert.equal((throttled.json() as ProblemBody).code, "upstream_unavailable");
    assert.ok(Number(throttled.res.headers.get("retry-after")) >= 1);

    stack.keyVault.injectFault({ status: 503, count: 50, retryAfterSeconds: 0, operation: "setSecret" });
    const writeDown = await put("pat-throttled", pat());
    stack.keyVault.clearFaults();
    assert.equal(writeDown.res.status, 503);
    assert.equal((await call("/inventory/pat-throttled", ops)).res.status, 404);
  });

  test("no credential value in any answer or log line", () => {
    assert.ok(canaries.length > 40);
    assert.deepEqual(logsContain(stack.logs, canaries), []);
    assert.deepEqual(
      canaries.filter((c) => texts.some((t) => t.includes(c))),
      [],
    );
    assert.ok(
      stack.logs.some((l) => l.includes('"event":"audit.inventory"') && l.includes('"action":"import"')),
    );
  });
});

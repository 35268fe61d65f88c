import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PatToken } from "../src/devops/pat-lifecycle-client.js";
import { buildDriftReport, driftTargets, type PatRead } from "../src/drift/drift-report.js";
import { driftCsv } from "../src/drift/drift-csv.js";
import { markerFor } from "../src/rotation/marker.js";
import type { SecretProperties } from "../src/vault/secret-store.js";

/** The drift report's decisions, from what was read: which ids count as known, severity, targets. */

const NOW = Date.parse("2026-12-02T12:00:00Z");
const APP = "a1b2c3d4-0000-4000-8000-0000000001d1";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function secret(name: string, tags: Record<string, string>): SecretProperties {
  return {
    name,
    version: "",
    enabled: true,
    contentType: undefined,
    expiresOn: undefined,
    createdOn: undefined,
    updatedOn: undefined,
    tags: { "managed-by": "token-broker", ...tags },
  };
}

function pat(n: number, displayName: string, extra: Partial<PatToken> = {}): PatToken {
  return {
    authorizationId: id(n),
    displayName,
    scope: "vso.code",
    validFrom: new Date(NOW - 1000),
    validTo: new Date(NOW + 1000),
    targetAccounts: ["org-guid"],
    ...extra,
  };
}

describe("drift report", () => {
  const managed = [
    secret("pat-a", {
      kind: "pat",
      org: "Contoso",
      "authorization-id": id(1),
      "pending-revoke": `${id(2)}@1`,
    }),
    secret("pat-global", { kind: "pat", org: "*" }),
    secret("grant-fab", { kind: "refresh-token", org: "fabrikam" }),
    secret("grant-any", { kind: "refresh-token" }),
    secret("app-secret", {
      kind: "client-secret",
      "application-object-id": APP.toUpperCase(),
      "key-id": id(10),
      "verify-pending": `2026-12-02T11:00:00Z 3f1e ${id(11)}`,
    }),
  ];

  test("targets: organizations of PATs and grants (once, any case), applications, what cannot be compared", () => {
    const t = driftTargets([...managed, secret("pat-b", { kind: "pat", org: "contoso" })]);
    assert.deepEqual(t.organizations, ["Contoso", "fabrikam"]);
    assert.deepEqual(t.applications, [APP]);
    assert.deepEqual(
      t.skipped.map((s) => s.name),
      ["pat-global", "pat-b"],
    );
  });

  test("pending and proven ids are known; markers decide the severity; the rest is missing upstream", () => {
    const reads: PatRead[] = [
      {
        organization: "Contoso",
        grant: "grant-any",
        result: {
          pats: [
            pat(2, "replaced, in its grace"),
            pat(3, markerFor("d1", "pat-lost", NOW)),
            pat(4, markerFor("d2", "theirs", NOW)),
            pat(5, "everywhere", { targetAccounts: null }),
            pat(6, "+cmd", { scope: "app_token vso.code" }),
          ],
        },
      },
      { organization: "fabrikam", grant: "grant-fab", result: { failure: { code: "x", detail: "y" } } },
    ];
    const r = buildDriftReport({
      managed,
      targets: driftTargets(managed),
      patReads: reads,
      passwordReads: [
        {
          applicationObjectId: APP,
          result: {
            passwords: [id(11), id(12)].map((keyId) => ({
              keyId,
              displayName: null,
              hint: "abc",
              startDateTime: new Date(NOW),
              endDateTime: new Date(NOW),
            })),
          },
        },
      ],
      deploymentId: "d1",
      now: NOW,
    });
    assert.deepEqual(
      r.unmanagedPats.map((p) => [p.authorizationId, p.severity, p.marker, p.markedCredential]),
      [
        [id(3), "high", "this-deployment", "pat-lost"],
        [id(6), "medium", null, null],
        [id(5), "medium", null, null],
        [id(4), "low", "other-deployment", null],
      ],
    );
    assert.deepEqual(
      r.unmanagedPasswords.map((p) => p.keyId),
      [id(12)],
    );
    assert.deepEqual(
      r.missingUpstream.map((m) => [m.name, m.upstreamId]),
      [
        ["app-secret", id(10)],
        ["pat-a", id(1)],
      ],
    );
    assert.deepEqual(r.unreadable, [
      { source: "azure-devops", organization: "fabrikam", grant: "grant-fab", code: "x", detail: "y" },
    ]);
    // A display name a spreadsheet would run is quoted as text.
    assert.match(driftCsv(r), /\r\nunmanaged-pat,medium,azure-devops,Contoso,,,[^,]+,'\+cmd,/);
  });

  test("a global PAT listed from two organizations is one finding, where first seen", () => {
    const global = pat(40, "legacy everywhere", { targetAccounts: null });
    const reads: PatRead[] = [
      { organization: "contoso", grant: "grant-any", result: { pats: [global] } },
      { organization: "fabrikam", grant: "grant-fab", result: { pats: [global, pat(41, "fabrikam only")] } },
    ];
    const r = buildDriftReport({
      managed,
      targets: driftTargets(managed),
      patReads: reads,
      passwordReads: [],
      deploymentId: "dep",
      now: NOW,
    });
    assert.deepEqual(
      r.unmanagedPats.map((p) => [p.authorizationId, p.organization, p.global]),
      [
        [id(40), "contoso", true],
        [id(41), "fabrikam", false],
      ],
    );
  });
});

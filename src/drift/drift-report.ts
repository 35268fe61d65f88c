import type { PatToken } from "../devops/pat-lifecycle-client.js";
import type { PasswordCredential } from "../graph/application-passwords-client.js";
import { ALL_ORGANIZATIONS, FULL_ACCESS_SCOPE, splitScopes, TAG } from "../inventory/managed-credential.js";
import { parsePending } from "../inventory/pending-revoke.js";
import { parseVerifyPending } from "../inventory/verify-pending.js";
import { credentialOfMarker, isBrokerMarker } from "../rotation/marker.js";
import type { SecretProperties } from "../vault/secret-store.js";
import type {
  DriftMarker,
  DriftReport,
  DriftSeverity,
  DriftSkipped,
  DriftUnreadable,
  MissingUpstream,
  UnmanagedPassword,
  UnmanagedPat,
} from "./drift-types.js";

/** The drift report from what was read: pure, so every finding is decided in one place. */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Azure DevOps organization names (the PAT client refuses any other). */
const ORGANIZATION = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;

/** Where upstream must be read: organizations (of PATs and grants) and applications (of client secrets). */
export interface DriftTargets {
  /** One spelling per organization, compared ignoring case. */
  organizations: string[];
  /** Lower-case application object ids. */
  applications: string[];
  skipped: DriftSkipped[];
}

export function driftTargets(managed: readonly SecretProperties[]): DriftTargets {
  const organizations = new Map<string, string>();
  const applications = new Set<string>();
  const skipped: DriftSkipped[] = [];
  for (const p of managed) {
    const kind = p.tags[TAG.kind];
    const org = p.tags[TAG.organization];
    if (kind === "pat" || kind === "refresh-token") {
      // A grant without an organization serves those of the PATs: it names none itself.
      if (kind === "refresh-token" && org === undefined) continue;
      if (org === undefined || org === ALL_ORGANIZATIONS) {
        skipped.push({ name: p.name, reason: "no single organization to list (global or none recorded)" });
      } else if (!ORGANIZATION.test(org)) {
        skipped.push({ name: p.name, reason: "the organization tag is not an Azure DevOps name" });
      } else {
        if (!organizations.has(org.toLowerCase())) organizations.set(org.toLowerCase(), org);
        if (kind === "pat" && p.tags[TAG.authorizationId] === undefined) {
          skipped.push({
            name: p.name,
            reason: "no authorization-id recorded: cannot be looked for upstream",
          });
        }
      }
    } else if (kind === "client-secret") {
      const app = p.tags[TAG.applicationObjectId];
      if (app === undefined || !GUID.test(app)) {
        skipped.push({ name: p.name, reason: "no application-object-id recorded" });
        continue;
      }
      applications.add(app.toLowerCase());
      if (p.tags[TAG.keyId] === undefined) {
        skipped.push({ name: p.name, reason: "no key-id recorded: cannot be looked for upstream" });
      }
    }
  }
  return {
    organizations: [...organizations.values()].sort((a, b) => a.localeCompare(b)),
    applications: [...applications].sort(),
    skipped,
  };
}

/** Why a read failed, in the broker's words. */
export interface ReadFailure {
  code: string;
  detail: string;
}

export interface PatRead {
  organization: string;
  grant: string | undefined;
  result: { pats: readonly PatToken[] } | { failure: ReadFailure };
}

export interface PasswordRead {
  applicationObjectId: string;
  result: { passwords: readonly PasswordCredential[] } | { failure: ReadFailure };
}

export interface DriftInput {
  managed: readonly SecretProperties[];
  targets: DriftTargets;
  patReads: readonly PatRead[];
  passwordReads: readonly PasswordRead[];
  deploymentId: string;
  now: number;
  /** Upstream ids written since `managed` was listed (the sweep's new versions), lower case. */
  alsoKnown?: ReadonlySet<string> | undefined;
}

/** Every upstream id the vault holds: current ones, those waiting out their grace, proven ones in use. */
function knownIds(managed: readonly SecretProperties[]): Set<string> {
  const known = new Set<string>();
  for (const p of managed) {
    const ids = [
      p.tags[TAG.authorizationId],
      p.tags[TAG.keyId],
      ...parsePending(p.tags[TAG.pendingRevoke]).map((e) => e.id),
      parseVerifyPending(p.tags[TAG.verifyPending])?.proven?.id,
    ];
    for (const id of ids) if (id !== undefined) known.add(id.toLowerCase());
  }
  return known;
}

function markerOf(deploymentId: string, displayName: string | null): [DriftMarker, string | null] {
  const name = displayName ?? "";
  const credential = credentialOfMarker(deploymentId, name);
  if (credential !== undefined) return ["this-deployment", credential];
  return [isBrokerMarker(name) ? "other-deployment" : null, null];
}

function patFinding(pat: PatToken, read: PatRead & { grant: string }, deploymentId: string): UnmanagedPat {
  const scopes = splitScopes(pat.scope);
  const global = pat.targetAccounts === null || pat.targetAccounts.length === 0;
  const fullScope = scopes.includes(FULL_ACCESS_SCOPE);
  const [marker, markedCredential] = markerOf(deploymentId, pat.displayName);
  const severity: DriftSeverity =
    marker === "this-deployment" ? "high" : global || fullScope ? "medium" : "low";
  return {
    organization: read.organization,
    grant: read.grant,
    authorizationId: pat.authorizationId,
    displayName: pat.displayName,
    scopes,
    validFrom: pat.validFrom.toISOString(),
    validTo: pat.validTo.toISOString(),
    global,
    fullScope,
    marker,
    markedCredential,
    severity,
  };
}

function passwordFinding(
  p: PasswordCredential,
  applicationObjectId: string,
  deploymentId: string,
): UnmanagedPassword {
  const [marker, markedCredential] = markerOf(deploymentId, p.displayName);
  return {
    applicationObjectId,
    keyId: p.keyId,
    displayName: p.displayName,
    hint: p.hint,
    startDateTime: p.startDateTime.toISOString(),
    endDateTime: p.endDateTime.toISOString(),
    marker,
    markedCredential,
    severity: marker === "this-deployment" ? "high" : "low",
  };
}

const SEVERITY_ORDER: Record<DriftSeverity, number> = { high: 0, medium: 1, low: 2 };

export function buildDriftReport(input: DriftInput): DriftReport {
  const { managed, deploymentId } = input;
  const known = knownIds(managed);
  for (const id of input.alsoKnown ?? []) known.add(id);
  const unmanagedPats: UnmanagedPat[] = [];
  const reported = new Set<string>();
  const unmanagedPasswords: UnmanagedPassword[] = [];
  const missingUpstream: MissingUpstream[] = [];
  const unreadable: DriftUnreadable[] = [];
  /** Upstream ids live per organization / application (lower case), for what was read. */
  const liveInOrg = new Map<string, Set<string>>();
  const liveInApp = new Map<string, Set<string>>();

  for (const read of input.patReads) {
    if ("failure" in read.result || read.grant === undefined) {
      const failure = "failure" in read.result ? read.result.failure : undefined;
      unreadable.push({
        source: "azure-devops",
        organization: read.organization,
        ...(read.grant !== undefined ? { grant: read.grant } : {}),
        code: failure?.code ?? "no_rotator_grant",
        detail: failure?.detail ?? "no rotator grant serves this organization",
      });
      continue;
    }
    const withGrant = { ...read, grant: read.grant };
    const live = new Set<string>();
    for (const pat of read.result.pats) {
      const id = pat.authorizationId.toLowerCase();
      live.add(id);
      // A global PAT is listed in every organization it is valid in: one finding, where first seen.
      if (!known.has(id) && !reported.has(id)) {
        reported.add(id);
        unmanagedPats.push(patFinding(pat, withGrant, deploymentId));
      }
    }
    liveInOrg.set(read.organization.toLowerCase(), live);
  }

  for (const read of input.passwordReads) {
    if ("failure" in read.result) {
      unreadable.push({
        source: "graph",
        applicationObjectId: read.applicationObjectId,
        code: read.result.failure.code,
        detail: read.result.failure.detail,
      });
      continue;
    }
    const live = new Set<string>();
    for (const p of read.result.passwords) {
      live.add(p.keyId.toLowerCase());
      if (!known.has(p.keyId.toLowerCase())) {
        unmanagedPasswords.push(passwordFinding(p, read.applicationObjectId, deploymentId));
      }
    }
    liveInApp.set(read.applicationObjectId.toLowerCase(), live);
  }

  for (const p of managed) {
    const kind = p.tags[TAG.kind];
    const common = { name: p.name, enabled: p.enabled, expiresOn: p.expiresOn?.toISOString() ?? null };
    if (kind === "pat") {
      const id = p.tags[TAG.authorizationId]?.toLowerCase();
      const org = p.tags[TAG.organization];
      const live = org === undefined ? undefined : liveInOrg.get(org.toLowerCase());
      if (id === undefined || live === undefined || live.has(id)) continue;
      missingUpstream.push({
        ...common,
        kind,
        organization: org ?? null,
        applicationObjectId: null,
        upstreamId: id,
      });
    } else if (kind === "client-secret") {
      const id = p.tags[TAG.keyId]?.toLowerCase();
      const app = p.tags[TAG.applicationObjectId]?.toLowerCase();
      const live = app === undefined ? undefined : liveInApp.get(app);
      if (id === undefined || live === undefined || live.has(id)) continue;
      missingUpstream.push({
        ...common,
        kind,
        organization: null,
        applicationObjectId: app ?? null,
        upstreamId: id,
      });
    }
  }

  unmanagedPats.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.organization.localeCompare(b.organization) ||
      a.displayName.localeCompare(b.displayName),
  );
  unmanagedPasswords.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      a.applicationObjectId.localeCompare(b.applicationObjectId) ||
      a.keyId.localeCompare(b.keyId),
  );
  missingUpstream.sort((a, b) => a.name.localeCompare(b.name));
  return {
    generatedAt: new Date(input.now).toISOString(),
    checked: {
      credentials: managed.length,
      organizations: input.targets.organizations,
      applications: input.targets.applications,
    },
    unmanagedPats,
    unmanagedPasswords,
    missingUpstream,
    unreadable,
    skipped: input.targets.skipped,
  };
}

import type {
  DriftSeverity,
  MissingUpstream,
  UnmanagedPassword,
  UnmanagedPat,
} from "../drift/drift-types.js";
import { adaptiveMessage, plain } from "./teams-card.js";

/**
 * The notice of one drift finding (the rotation sweep sends each once): a credential upstream that
 * no vault secret holds, or a vault credential whose upstream is gone. Metadata only: the drift
 * report never holds a value.
 */
export interface DriftNotice {
  /** Stable per finding: receivers can drop a repeat (delivery is at-least-once). */
  id: string;
  type: "token-broker.drift-notice";
  reason: "drift";
  finding: "unmanaged-pat" | "unmanaged-password" | "missing-upstream";
  /** The vault secret the finding hangs on: the grant (PATs), the app's credential, or the credential itself. */
  name: string;
  owner: string | null;
  /** Not a version of a credential: drift is about what the vault does not hold. */
  version: null;
  organization: string | null;
  applicationObjectId: string | null;
  upstreamId: string;
  /** The upstream's display name (PATs, passwords) or the vault name. */
  displayName: string | null;
  expiresOn: string | null;
  severity: DriftSeverity | null;
  summary: string;
  action: { description: string; cli: string };
  sentAt: string;
}

type Base = Pick<DriftNotice, "name" | "owner">;

export function unmanagedPatNotice(p: UnmanagedPat, on: Base, now: number): DriftNotice {
  const cli = `token-broker import NAME --kind pat --org ${p.organization} --authorization-id ${p.authorizationId} --owner OWNER < pat.txt`;
  const lost = p.markedCredential !== null ? ` The broker made it for ${p.markedCredential}.` : "";
  return {
    id: `drift:pat:${p.authorizationId}`,
    type: "token-broker.drift-notice",
    reason: "drift",
    finding: "unmanaged-pat",
    ...on,
    version: null,
    organization: p.organization,
    applicationObjectId: null,
    upstreamId: p.authorizationId,
    displayName: p.displayName,
    expiresOn: p.validTo,
    severity: p.severity,
    summary: `A PAT in ${p.organization} that no vault secret holds (${p.severity} severity), valid until ${p.validTo}`,
    action: {
      description: `Nobody stored this PAT, so nobody rotates or watches it.${lost} If it is not needed, revoke it in Azure DevOps (User settings, Personal access tokens); if it is, import it into the broker (${cli}).`,
      cli,
    },
    sentAt: new Date(now).toISOString(),
  };
}

export function unmanagedPasswordNotice(p: UnmanagedPassword, on: Base, now: number): DriftNotice {
  const cli = `token-broker import NAME --kind client-secret --application-object-id ${p.applicationObjectId} --key-id ${p.keyId} --owner OWNER < secret.txt`;
  return {
    id: `drift:password:${p.keyId}`,
    type: "token-broker.drift-notice",
    reason: "drift",
    finding: "unmanaged-password",
    ...on,
    version: null,
    organization: null,
    applicationObjectId: p.applicationObjectId,
    upstreamId: p.keyId,
    displayName: p.displayName,
    expiresOn: p.endDateTime,
    severity: p.severity,
    summary: `A password on application ${p.applicationObjectId} that no vault secret holds (${p.severity} severity), valid until ${p.endDateTime}`,
    action: {
      description: `Nobody stored this password. If it is not needed, remove it from the application (Entra admin center, Certificates & secrets); if it is, import it into the broker (${cli}).`,
      cli,
    },
    sentAt: new Date(now).toISOString(),
  };
}

export function missingUpstreamNotice(m: MissingUpstream, on: Base, now: number): DriftNotice {
  const cli = `token-broker rotate ${m.name}`;
  return {
    id: `drift:missing:${m.name}:${m.upstreamId}`,
    type: "token-broker.drift-notice",
    reason: "drift",
    finding: "missing-upstream",
    ...on,
    version: null,
    organization: m.organization,
    applicationObjectId: m.applicationObjectId,
    upstreamId: m.upstreamId,
    displayName: m.name,
    expiresOn: m.expiresOn,
    severity: null,
    summary: `${m.name}: its ${m.kind} is gone upstream (revoked, expired or deleted), so what the broker hands out no longer works`,
    action: {
      description: `Rotate it (${cli}, role Secrets.Admin) for a new one, or import a new value; if nobody needs it any more, remove it (token-broker revoke ${m.name} --skip-upstream).`,
      cli,
    },
    sentAt: new Date(now).toISOString(),
  };
}

/** The Teams card: attention for what leaks (an unstored credential), warning for a dead one. */
export function driftTeamsMessage(notice: DriftNotice): unknown {
  const facts = [
    { title: "Finding", value: notice.finding },
    { title: "Where", value: plain(notice.organization ?? notice.applicationObjectId ?? "(none)") },
    { title: "Upstream id", value: notice.upstreamId },
    { title: "Display name", value: plain(notice.displayName ?? "(none)") },
    { title: "Expires", value: notice.expiresOn ?? "never" },
    ...(notice.severity !== null ? [{ title: "Severity", value: notice.severity }] : []),
    { title: "Through", value: notice.name },
  ];
  return adaptiveMessage({
    style: notice.finding === "missing-upstream" ? "warning" : "attention",
    headline:
      notice.finding === "missing-upstream"
        ? `${notice.name}: gone upstream`
        : "A credential upstream that the broker does not hold",
    lead: plain(notice.summary),
    facts,
    whatToDo: "What to do",
    description: plain(notice.action.description),
    id: notice.id,
    actions: [],
  });
}

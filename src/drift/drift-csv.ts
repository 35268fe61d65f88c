import { toCsv, type CsvColumn } from "../inventory/csv.js";
import type { DriftReport } from "./drift-types.js";

/**
 * The drift report as one CSV (the inventory's writer, with its formula-injection guard): a row
 * per finding, `finding` saying which list it came from, and the unreadable parts as rows too,
 * so a spreadsheet shows that the report is partial.
 */

interface Row {
  finding: "unmanaged-pat" | "unmanaged-password" | "missing-upstream" | "unreadable";
  severity?: string;
  source?: string;
  organization?: string | null;
  applicationObjectId?: string | null;
  name?: string | null;
  upstreamId?: string;
  displayName?: string | null;
  scopes?: string;
  hint?: string | null;
  validFrom?: string;
  validTo?: string | null;
  global?: boolean;
  fullScope?: boolean;
  marker?: string | null;
  code?: string;
  detail?: string;
}

const cell = (key: keyof Row) => (r: Row) => r[key] ?? null;

const COLUMNS: readonly CsvColumn<Row>[] = (
  [
    "finding",
    "severity",
    "source",
    "organization",
    "applicationObjectId",
    "name",
    "upstreamId",
    "displayName",
    "scopes",
    "hint",
    "validFrom",
    "validTo",
    "global",
    "fullScope",
    "marker",
    "code",
    "detail",
  ] as const
).map((key) => ({ header: key, value: cell(key) }));

function rows(report: DriftReport): Row[] {
  return [
    ...report.unmanagedPats.map((p): Row => ({
      finding: "unmanaged-pat",
      severity: p.severity,
      source: "azure-devops",
      organization: p.organization,
      name: p.markedCredential,
      upstreamId: p.authorizationId,
      displayName: p.displayName,
      scopes: p.scopes.join(" "),
      validFrom: p.validFrom,
      validTo: p.validTo,
      global: p.global,
      fullScope: p.fullScope,
      marker: p.marker,
    })),
    ...report.unmanagedPasswords.map((p): Row => ({
      finding: "unmanaged-password",
      severity: p.severity,
      source: "graph",
      applicationObjectId: p.applicationObjectId,
      name: p.markedCredential,
      upstreamId: p.keyId,
      displayName: p.displayName,
      hint: p.hint,
      validFrom: p.startDateTime,
      validTo: p.endDateTime,
      marker: p.marker,
    })),
    ...report.missingUpstream.map((m): Row => ({
      finding: "missing-upstream",
      source: m.kind === "pat" ? "azure-devops" : "graph",
      organization: m.organization,
      applicationObjectId: m.applicationObjectId,
      name: m.name,
      upstreamId: m.upstreamId,
      validTo: m.expiresOn,
    })),
    ...report.unreadable.map((u): Row => ({
      finding: "unreadable",
      source: u.source,
      organization: u.organization ?? null,
      applicationObjectId: u.applicationObjectId ?? null,
      name: u.grant ?? null,
      code: u.code,
      detail: u.detail,
    })),
  ];
}

export function driftCsv(report: DriftReport): string {
  return toCsv(COLUMNS, rows(report));
}

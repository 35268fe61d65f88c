import { z } from "zod";
import type { DriftReport } from "../drift/drift-types.js";

/**
 * The answer of `GET /api/drift` as a zod schema: the handler's answer has this type (the
 * domain's report must fit it, checked at compile time below) and the CLI parses with it.
 * Objects are loose and words plain strings, so a newer broker may add fields and values.
 */

const marker = z.string().nullable();

const unmanagedPat = z.looseObject({
  organization: z.string(),
  grant: z.string(),
  authorizationId: z.string(),
  displayName: z.string(),
  scopes: z.array(z.string()),
  validFrom: z.string(),
  validTo: z.string(),
  global: z.boolean(),
  fullScope: z.boolean(),
  marker,
  markedCredential: z.string().nullable(),
  severity: z.string(),
});

const unmanagedPassword = z.looseObject({
  applicationObjectId: z.string(),
  keyId: z.string(),
  displayName: z.string().nullable(),
  hint: z.string().nullable(),
  startDateTime: z.string(),
  endDateTime: z.string(),
  marker,
  markedCredential: z.string().nullable(),
  severity: z.string(),
});

const missingUpstream = z.looseObject({
  name: z.string(),
  kind: z.string(),
  organization: z.string().nullable(),
  applicationObjectId: z.string().nullable(),
  upstreamId: z.string(),
  enabled: z.boolean(),
  expiresOn: z.string().nullable(),
});

const unreadable = z.looseObject({
  source: z.string(),
  organization: z.string().optional(),
  grant: z.string().optional(),
  applicationObjectId: z.string().optional(),
  code: z.string(),
  detail: z.string(),
});

const driftShape = {
  generatedAt: z.string(),
  checked: z.looseObject({
    credentials: z.number().int(),
    organizations: z.array(z.string()),
    applications: z.array(z.string()),
  }),
  unmanagedPats: z.array(unmanagedPat),
  unmanagedPasswords: z.array(unmanagedPassword),
  missingUpstream: z.array(missingUpstream),
  unreadable: z.array(unreadable),
  skipped: z.array(z.looseObject({ name: z.string(), reason: z.string() })).default([]),
};
export const driftReportWire = z.looseObject(driftShape);
export type DriftReportWire = z.infer<typeof driftReportWire>;

/** What the handler answers: the schema's input, so the report must be something the CLI parses. */
export type DriftAnswer = z.input<z.ZodObject<typeof driftShape>>;
/** Compile-time only: the domain's report fits the answer. */
type Fits<Server extends Wire, Wire> = [Server, Wire];
export type DriftWireCheck = Fits<DriftReport, DriftAnswer>;

import { z } from "zod";
import type { SweepReport } from "../notices/sweep.js";
import type { RotationReport } from "../rotation/rotation-types.js";

/**
 * The answers of `POST /api/sweeps/rotation` and `POST /api/sweeps/notices` as zod schemas: the
 * server's report types must fit them (checked at compile time below), and the CLI parses the
 * answers with them. Objects are loose so a newer broker may add fields; words it may add to
 * (an outcome, a threshold) are plain strings, shown as they come. Type-only imports keep the
 * runtime of the sweeps out of the CLI.
 */

const named = { name: z.string() };
const threshold = z.union([z.number(), z.string()]);

const rotationShape = {
  rotated: z.array(z.looseObject({ ...named, version: z.string() })),
  pending: z.array(z.looseObject({ ...named, version: z.string(), since: z.string() })).default([]),
  revoked: z.array(z.looseObject({ ...named, upstreamId: z.string(), outcome: z.string() })),
  orphansRevoked: z.array(z.looseObject({ ...named, upstreamId: z.string() })),
  skipped: z.array(z.looseObject({ ...named, reason: z.string() })),
  failed: z.array(z.looseObject({ ...named, reason: z.string() })),
  checked: z.number().int(),
  drift: z
    .looseObject({
      unmanagedPats: z.number().int(),
      unmanagedPasswords: z.number().int(),
      missingUpstream: z.number().int(),
      high: z.number().int(),
      unreadable: z.array(z.string()),
      notified: z.number().int(),
      notifyFailed: z.number().int(),
      deferred: z.number().int(),
      error: z.string().optional(),
    })
    .optional(),
};
export const rotationReportWire = z.looseObject(rotationShape);
export type RotationReportWire = z.infer<typeof rotationReportWire>;

const noticeShape = {
  notified: z.array(z.looseObject({ ...named, threshold })),
  alreadyNotified: z.array(z.looseObject({ ...named, threshold })),
  failed: z.array(z.looseObject({ ...named, threshold, reason: z.string() })),
  skipped: z.array(z.looseObject({ ...named, reason: z.string() })),
  checked: z.number().int(),
};
export const noticeReportWire = z.looseObject(noticeShape);
export type NoticeReportWire = z.infer<typeof noticeReportWire>;

/** Compile-time only: what the server answers must parse with the schema the client uses. */
type Fits<Server extends Wire, Wire> = [Server, Wire];
type Strict<S extends z.core.$ZodLooseShape> = z.input<z.ZodObject<S>>;
export type SweepWireChecks = [
  Fits<RotationReport, Strict<typeof rotationShape>>,
  Fits<SweepReport, Strict<typeof noticeShape>>,
];

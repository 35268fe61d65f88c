import { z } from "zod";

/**
 * The problem+json body (RFC 9457) the broker answers errors with, as a zod schema for its
 * clients. Neutral ground: clients must not import `src/http/`, which renders these bodies.
 */
export const problemBodyWire = z.looseObject({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  /** A 400's invalid fields: names and rules, never their values. */
  errors: z.array(z.looseObject({ field: z.string(), message: z.string() })).optional(),
});
export type ProblemBodyWire = z.infer<typeof problemBodyWire>;

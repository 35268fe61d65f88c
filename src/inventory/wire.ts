import { z } from "zod";
import type { InventoryPage, RemoveResult, VersionItem } from "./inventory.js";
import { KINDS, ROTATIONS, STATUSES, type InventoryItem } from "./managed-credential.js";

/**
 * The inventory API's answers as zod schemas: the server's types below must fit them (checked at
 * compile time), and the CLI parses every answer with them, since an answer crosses a trust
 * boundary. Objects are loose so a newer broker may add fields. Type-only imports from the
 * domain keep this module (and the CLI's cold start) free of the runtime behind it.
 */

const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a date");

const itemShape = {
  name: z.string(),
  kind: z.enum(KINDS),
  owner: z.string().nullable(),
  organization: z.string().nullable(),
  scopes: z.array(z.string()),
  expiresOn: isoDate.nullable(),
  daysLeft: z.number().int().nullable(),
  status: z.enum(STATUSES),
  rotation: z.enum(ROTATIONS),
  rotatedOn: isoDate.nullable(),
  // null in list answers: the vault's listing names no versions (show has it).
  version: z.string().nullable(),
  enabled: z.boolean(),
  // The vault may not report these for every secret, so the broker answers null.
  createdOn: isoDate.nullable(),
  updatedOn: isoDate.nullable(),
  warnings: z.array(z.string()),
  contentType: z.string().nullable().optional(),
  authorizationId: z.string().optional(),
  applicationObjectId: z.string().optional(),
  keyId: z.string().optional(),
  clientId: z.string().optional(),
  rotationError: z.string().optional(),
  pendingVerificationSince: isoDate.optional(),
  clientType: z.string().optional(),
  clientSecretName: z.string().optional(),
  lastRedeemed: isoDate.optional(),
};
export const inventoryItemWire = z.looseObject(itemShape);
export type InventoryItemWire = z.infer<typeof inventoryItemWire>;

export const inventoryPageWire = z.looseObject({
  items: z.array(inventoryItemWire),
  continuation: z.string().nullable(),
});

const versionShape = {
  version: z.string(),
  enabled: z.boolean(),
  expiresOn: isoDate.nullable(),
  createdOn: isoDate.nullable(),
  updatedOn: isoDate.nullable(),
  rotatedOn: isoDate.nullable().optional(),
  current: z.boolean(),
};
export const versionItemWire = z.looseObject(versionShape);
export const versionsWire = z.looseObject({ items: z.array(versionItemWire) });

const removeShape = {
  name: z.string(),
  deleted: z.literal(true),
  // revoked | already-gone | not-applicable | not-configured today; a new outcome must not turn
  // a revocation that happened into a reported failure, so any word is taken and shown.
  upstreamRevocation: z.string().min(1),
  recoverableDays: z.number().int(),
};
export const removeResultWire = z.looseObject(removeShape);

// `status` is absent from older brokers: they answered only once rotated.
const rotateShape = {
  name: z.string(),
  version: z.string(),
  status: z.enum(["rotated", "pending-verification"]).default("rotated"),
  // With pending-verification: when the new secret was stored.
  pendingSince: isoDate.optional(),
};
export const rotateOutcomeWire = z.looseObject(rotateShape);

/** Compile-time only: what the server answers must parse with the schema the client uses. */
type Fits<Server extends Wire, Wire> = [Server, Wire];
type Strict<S extends z.core.$ZodLooseShape> = z.input<z.ZodObject<S>>;
export type WireChecks = [
  Fits<InventoryItem, Strict<typeof itemShape>>,
  Fits<Omit<InventoryPage, "items">, { continuation: string | null }>,
  Fits<VersionItem, Strict<typeof versionShape>>,
  Fits<RemoveResult, Strict<typeof removeShape>>,
  Fits<
    { name: string; version: string; status: "rotated" | "pending-verification" },
    Strict<typeof rotateShape>
  >,
];

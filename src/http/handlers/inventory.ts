import { z } from "zod";
import { toCsv, type CsvColumn } from "../../inventory/csv.js";
import { importRequestSchema } from "../../inventory/import-request.js";
import { KINDS, SECRET_NAME, STATUSES, type InventoryItem } from "../../inventory/managed-credential.js";
import { audited as auditedRoute } from "../audited.js";
import { ROLES, type Role } from "../caller.js";
import { problems, sweepInProgress } from "../problem.js";
import { parseQuery } from "../query.js";
import { mediaTypeOf, parseJsonBody } from "../request-body.js";
import { json } from "../route.js";
import type { BrokerRequest } from "../types.js";

function nameOf(req: BrokerRequest): string {
  const name = req.params["name"] ?? "";
  if (!SECRET_NAME.test(name)) {
    throw problems.badRequest("The credential name is invalid.", [
      { field: "name", message: "must be 1-127 letters, digits or hyphens (Key Vault secret names)" },
    ]);
  }
  return name;
}

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const listQuery = z
  .strictObject({
    kind: z.enum(KINDS).optional(),
    status: z.enum(STATUSES).optional(),
    owner: z.string().min(1).max(256).optional(),
    expiringWithinDays: wholeNumber(0, 3650).optional(),
    top: wholeNumber(1, 100).optional(),
    continuation: z.string().min(1).max(8192).optional(),
    format: z.enum(["json", "csv"]).optional(),
  })
  .refine((q) => q.format !== "csv" || (q.top === undefined && q.continuation === undefined), {
    message: "format=csv exports every match: no top or continuation",
    path: ["format"],
  });

const putQuery = z.strictObject({ recover: z.enum(["true", "false"]).optional() });
/** `upstream=skip` deletes without revoking: for what upstream no longer knows or the broker cannot reach. */
const deleteQuery = z.strictObject({ upstream: z.enum(["revoke", "skip"]).optional() });
const noQuery = z.strictObject({});

const DEFAULT_TOP = 25;

export const CSV_COLUMNS: readonly CsvColumn<InventoryItem>[] = [
  { header: "name", value: (i) => i.name },
  { header: "kind", value: (i) => i.kind },
  { header: "owner", value: (i) => i.owner },
  { header: "organization", value: (i) => i.organization },
  { header: "scopes", value: (i) => i.scopes.join(" ") },
  { header: "expiresOn", value: (i) => i.expiresOn },
  { header: "daysLeft", value: (i) => i.daysLeft },
  { header: "status", value: (i) => i.status },
  { header: "rotation", value: (i) => i.rotation },
  { header: "rotatedOn", value: (i) => i.rotatedOn },
  { header: "version", value: (i) => i.version },
  { header: "enabled", value: (i) => i.enabled },
  { header: "createdOn", value: (i) => i.createdOn },
  { header: "updatedOn", value: (i) => i.updatedOn },
];

/** Metadata answers hold no credential, but they are about credentials: no shared caches either. */
const NO_STORE = { "cache-control": "no-store" };

const audited = (action: string, role: Role, run: Parameters<typeof auditedRoute>[3]) =>
  auditedRoute("audit.inventory", action, role, run);

export const listInventory = audited("list", ROLES.inventoryRead, async (req, rt) => {
  const q = parseQuery(req, listQuery);
  const filter = { kind: q.kind, status: q.status, owner: q.owner, expiringWithinDays: q.expiringWithinDays };
  if (q.format === "csv") {
    const items = await rt.inventory.listAll(filter);
    return {
      status: 200,
      headers: {
        "content-type": "text/csv; charset=utf-8; header=present",
        "content-disposition": 'attachment; filename="inventory.csv"',
        ...NO_STORE,
      },
      body: toCsv(CSV_COLUMNS, items),
    };
  }
  return json(200, await rt.inventory.list(filter, q.top ?? DEFAULT_TOP, q.continuation), NO_STORE);
});

export const getInventoryItem = audited("show", ROLES.inventoryRead, async (req, rt) => {
  parseQuery(req, noQuery);
  return json(200, await rt.inventory.get(nameOf(req)), NO_STORE);
});

export const listVersions = audited("versions", ROLES.inventoryRead, async (req, rt) => {
  parseQuery(req, noQuery);
  return json(200, { items: await rt.inventory.versions(nameOf(req)) }, NO_STORE);
});

export const putInventoryItem = audited("import", ROLES.secretsAdmin, async (req, rt) => {
  const name = nameOf(req);
  const q = parseQuery(req, putQuery);
  mediaTypeOf(req, ["application/json"]);
  const body = parseJsonBody(req, importRequestSchema);
  // The inventory takes the rotation lease itself: while a sweep runs, 409 with Retry-After.
  const { item, created } = await rt.inventory.put(name, body, { recover: q.recover === "true" });
  return json(created ? 201 : 200, item, {
    ...NO_STORE,
    ...(created ? { location: `/api/inventory/${item.name}` } : {}),
  });
});

export const rotateInventoryItem = audited("rotate", ROLES.secretsAdmin, async (req, rt) => {
  parseQuery(req, noQuery);
  const outcome = await rt.rotation.rotateNow(nameOf(req));
  if (!outcome.acquired) throw sweepInProgress("rotation");
  // 202: stored, but Entra does not accept the new secret yet (a later pass promotes it).
  return json(outcome.value.status === "rotated" ? 200 : 202, outcome.value, NO_STORE);
});

export const deleteInventoryItem = audited("revoke", ROLES.secretsAdmin, async (req, rt) => {
  const q = parseQuery(req, deleteQuery);
  const name = nameOf(req);
  const result = await rt.inventory.remove(name, { skipUpstream: q.upstream === "skip" });
  return json(200, result, NO_STORE);
});

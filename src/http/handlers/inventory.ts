import type { z } from "zod";
import { auditIdentity } from "../../auth/principal.js";
import { toCsv, type CsvColumn } from "../../inventory/csv.js";
import type { importRequestSchema } from "../../inventory/import-request.js";
import { SECRET_NAME, type InventoryItem } from "../../inventory/managed-credential.js";
import { problems, sweepInProgress } from "../problem.js";
import { json, type CallerHandler, type RouteHandler } from "../route.js";
import type { deleteQuery, listQuery, putQuery, rotateQuery } from "../schemas.js";

function nameOf(req: { params: Readonly<Record<string, string>> }): string {
  const name = req.params["name"] ?? "";
  if (!SECRET_NAME.test(name)) {
    throw problems.badRequest("The credential name is invalid.", [
      { field: "name", message: "must be 1-127 letters, digits or hyphens (Key Vault secret names)" },
    ]);
  }
  return name;
}

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

/*
 * Role, audit line, query and body: declared with each route in src/functions/registrations.ts,
 * checked and parsed before these run.
 */

export const listInventory: RouteHandler<z.output<typeof listQuery>> = async ({ query: q }, rt) => {
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
};

export const getInventoryItem: RouteHandler = async (req, rt) =>
  json(200, await rt.inventory.get(nameOf(req)), NO_STORE);

export const listVersions: RouteHandler = async (req, rt) =>
  json(200, { items: await rt.inventory.versions(nameOf(req)) }, NO_STORE);

export const putInventoryItem: CallerHandler<
  z.output<typeof putQuery>,
  { type: "application/json"; value: z.output<typeof importRequestSchema> }
> = async (req, rt, caller) => {
  const name = nameOf(req);
  const q = req.query;
  const body = req.body.value;
  // If-None-Match: * (RFC 9110 §13.1.2): create only; an existing name answers 412, unchanged.
  const createOnly = req.headers["if-none-match"]?.trim() === "*";
  // The inventory takes the rotation lease itself: while a sweep runs, 409 with Retry-After.
  const { item, created } = await rt.inventory.put(name, body, {
    recover: q.recover === "true",
    createOnly,
    // The owner's creation notice names who made the new version (identifiers, never the token).
    by: { type: "admin", caller: auditIdentity(caller) },
  });
  return json(created ? 201 : 200, item, {
    ...NO_STORE,
    ...(created ? { location: `/api/inventory/${item.name}` } : {}),
  });
};

export const rotateInventoryItem: RouteHandler<z.output<typeof rotateQuery>> = async (req, rt) => {
  const { organization } = req.query;
  const outcome = await rt.rotation.rotateNow(
    nameOf(req),
    organization !== undefined ? { organization } : {},
  );
  if (!outcome.acquired) throw sweepInProgress("rotation");
  // 202: stored, but Entra does not accept the new secret yet (a later pass promotes it).
  return json(outcome.value.status === "rotated" ? 200 : 202, outcome.value, NO_STORE);
};

export const deleteInventoryItem: RouteHandler<z.output<typeof deleteQuery>> = async (req, rt) => {
  const q = req.query;
  const name = nameOf(req);
  const result = await rt.inventory.remove(name, { skipUpstream: q.upstream === "skip" });
  return json(200, result, NO_STORE);
};

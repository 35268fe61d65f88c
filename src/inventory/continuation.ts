import { z } from "zod";
import { InventoryError } from "./inventory-error.js";
import { SECRET_NAME } from "./managed-credential.js";

/**
 * The inventory's opaque paging token: where in the vault's own listing the last answer stopped
 * (the vault page it read, and the last name it consumed on that page). base64url JSON; the
 * vault page link inside is checked to be the vault's own before it is ever fetched.
 */
export interface Position {
  page: string | undefined;
  after: string | undefined;
}

const positionSchema = z.strictObject({
  v: z.literal(1),
  p: z.string().min(1).max(4096).optional(),
  a: z.string().regex(SECRET_NAME).optional(),
});

export function encodePosition(position: Position): string {
  const json = {
    v: 1,
    ...(position.page !== undefined ? { p: position.page } : {}),
    ...(position.after !== undefined ? { a: position.after } : {}),
  };
  return Buffer.from(JSON.stringify(json), "utf8").toString("base64url");
}

export function decodePosition(token: string, isOwnPage: (page: string) => boolean): Position {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new InventoryError("invalid_continuation");
  }
  const parsed = positionSchema.safeParse(json);
  if (!parsed.success || (parsed.data.p !== undefined && !isOwnPage(parsed.data.p))) {
    throw new InventoryError("invalid_continuation");
  }
  return { page: parsed.data.p, after: parsed.data.a };
}

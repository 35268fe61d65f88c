import type { ImportRequest } from "./import-request.js";
import { InventoryError } from "./inventory-error.js";
import { MANAGED_BY, TAG, type CredentialKind } from "./managed-credential.js";
import { newValueTags } from "./new-value.js";
import { parseVerifyPending } from "./verify-pending.js";

export function autoRotationNeeds(kind: CredentialKind): string[] {
  if (kind === "pat") return [TAG.organization, TAG.scopes, TAG.lifetimeDays];
  if (kind === "client-secret") return [TAG.applicationObjectId, TAG.clientId, TAG.lifetimeDays];
  return [TAG.clientId];
}

export function autoRotationFields(kind: CredentialKind): string {
  if (kind === "pat") return "organization (not all organizations), scopes and lifetimeDays";
  if (kind === "client-secret") return "applicationObjectId, clientId and lifetimeDays";
  return "clientId";
}

/** The secret's tags after this request: what it says, over what the current version has. */
export function nextTags(
  base: Readonly<Record<string, string>>,
  request: ImportRequest,
  context: { newValue: boolean; created: boolean; now: number; graceMs: number },
): Record<string, string> {
  let tags: Record<string, string> = { ...base };
  if (context.newValue) {
    // A new secret pending verification and the proven one handed out meanwhile: both replaced.
    const proven = parseVerifyPending(base[TAG.verifyPending])?.proven?.id;
    const replaced = newValueTags(base, {
      replaced: [base[TAG.authorizationId], base[TAG.keyId], proven],
      now: context.now,
      graceMs: context.graceMs,
      first: context.created,
      stale: [TAG.authorizationId, TAG.keyId],
    });
    if (replaced === undefined) throw new InventoryError("pending_revoke_full");
    tags = replaced;
  }
  tags[TAG.managedBy] = MANAGED_BY;
  tags[TAG.kind] = request.kind;
  if (request.owner !== undefined) tags[TAG.owner] = request.owner;
  if (request.organization !== undefined) tags[TAG.organization] = request.organization;
  if (request.scopes !== undefined) tags[TAG.scopes] = [...new Set(request.scopes)].join(" ");
  tags[TAG.rotation] = request.rotation ?? base[TAG.rotation] ?? "manual";
  if (request.lifetimeDays !== undefined) tags[TAG.lifetimeDays] = String(request.lifetimeDays);
  if (request.authorizationId !== undefined)
    tags[TAG.authorizationId] = request.authorizationId.toLowerCase();
  if (request.applicationObjectId !== undefined) {
    tags[TAG.applicationObjectId] = request.applicationObjectId.toLowerCase();
  }
  if (request.keyId !== undefined) tags[TAG.keyId] = request.keyId.toLowerCase();
  if (request.clientId !== undefined) tags[TAG.clientId] = request.clientId.toLowerCase();
  if (request.kind === "refresh-token") {
    tags[TAG.clientType] = request.clientType ?? base[TAG.clientType] ?? "public";
    if (request.clientSecretName !== undefined) tags[TAG.clientSecretName] = request.clientSecretName;
    if (tags[TAG.clientType] !== "confidential") Reflect.deleteProperty(tags, TAG.clientSecretName);
    if (request.lastRedeemed !== undefined) {
      tags[TAG.lastRedeemed] = new Date(request.lastRedeemed).toISOString();
    }
  }
  return tags;
}

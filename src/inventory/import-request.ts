import { z } from "zod";
import { isPatFormat } from "../devops/pat-format.js";
import { CLIENT_TYPES, KINDS, ROTATIONS, SECRET_NAME, SPA_REFUSED } from "./managed-credential.js";
import { PAT_SCOPES } from "./pat-scopes.js";

/**
 * The body of `PUT /api/inventory/{name}` (DESIGN §6). Messages name the rule, never the value:
 * the value is a credential, and the other fields are echoed nowhere either.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const guid = z.string().regex(GUID, "must be a GUID");
/** Key Vault allows 256 characters per tag value. */
const TAG_VALUE_MAX = 256;

/** Printable, one line, and not starting like a spreadsheet formula (owners end up in CSV exports). */
const owner = z
  .string()
  .min(1)
  .max(TAG_VALUE_MAX)
  .regex(/^[^\s=+\-@]\P{Cc}*$/u, "must be one printable line, e.g. an email address");

/** Azure DevOps organisation names: letters, digits and hyphens, not starting or ending with a hyphen. */
export const organizationName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/, "must be an Azure DevOps organization name");

/** Entra client secrets and refresh tokens: printable ASCII without spaces. */
const opaqueSecret = /^[\x21-\x7e]+$/;

export const importRequestSchema = z
  .strictObject({
    kind: z.enum(KINDS),
    value: z
      .string()
      .min(1)
      .max(16 * 1024)
      .optional(),
    expiresOn: z.iso
      .datetime({ offset: true, message: "must be an ISO 8601 date-time with a time zone" })
      .optional(),
    owner: owner.optional(),
    organization: organizationName.optional(),
    /**
     * Only so that `true` is refused with its reason (`global_pat_retired`, inventory-import.ts):
     * Azure DevOps retired global PATs; none authenticates since 2026-12-01.
     */
    allOrgs: z.boolean().optional(),
    scopes: z.array(z.enum(PAT_SCOPES)).min(1).max(30).optional(),
    /**
     * PAT with a value: false stores it without first proving it at Azure DevOps (connectionData
     * in its organization). Default true: a refused value never replaces a working one.
     */
    verify: z.boolean().optional(),
    rotation: z.enum(ROTATIONS).optional(),
    lifetimeDays: z.number().int().min(1).max(366).optional(),
    authorizationId: guid.optional(),
    applicationObjectId: guid.optional(),
    keyId: guid.optional(),
    clientId: guid.optional(),
    /** refresh-token: the kind of client the grant belongs to (default public); spa is refused. */
    clientType: z.enum(CLIENT_TYPES).optional(),
    /** refresh-token, confidential client: the managed client-secret credential with the client's secret. */
    clientSecretName: z.string().regex(SECRET_NAME, "must be a credential name").optional(),
    /** refresh-token: when the refresh token was obtained (or last redeemed); its expiry follows from it. */
    lastRedeemed: z.iso
      .datetime({ offset: true, message: "must be an ISO 8601 date-time with a time zone" })
      .optional(),
  })
  .superRefine((body, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const onlyFor = (field: keyof typeof body, kinds: readonly string[]) => {
      if (body[field] !== undefined && !kinds.includes(body.kind)) {
        issue(field, `only for kind ${kinds.join(" or ")}`);
      }
    };
    if (body.value !== undefined) {
      if (body.kind === "pat" && !isPatFormat(body.value)) {
        issue(
          "value",
          "must be an Azure DevOps PAT: 84 characters (76 letters or digits, AZDO, 4 letters or digits) or the legacy 52-character lowercase base32 form",
        );
      } else if (body.kind !== "pat" && !opaqueSecret.test(body.value)) {
        issue("value", "must be printable ASCII without spaces");
      }
    }
    onlyFor("organization", ["pat", "refresh-token"]);
    onlyFor("allOrgs", ["pat"]);
    onlyFor("scopes", ["pat"]);
    onlyFor("verify", ["pat"]);
    if (body.verify !== undefined && body.value === undefined) {
      issue("verify", "only with a value (the PAT to check)");
    }
    onlyFor("authorizationId", ["pat"]);
    onlyFor("applicationObjectId", ["client-secret"]);
    onlyFor("keyId", ["client-secret"]);
    onlyFor("clientId", ["client-secret", "refresh-token"]);
    onlyFor("clientType", ["refresh-token"]);
    onlyFor("clientSecretName", ["refresh-token"]);
    onlyFor("lastRedeemed", ["refresh-token"]);
    if (body.clientType === "spa") issue("clientType", SPA_REFUSED);
    if (
      body.clientSecretName !== undefined &&
      body.clientType !== undefined &&
      body.clientType !== "confidential"
    ) {
      issue("clientSecretName", "only for clientType confidential");
    }
    if (body.kind === "refresh-token" && body.expiresOn !== undefined) {
      issue(
        "expiresOn",
        "is computed for a refresh token: lastRedeemed + 90 days (Entra's inactivity limit)",
      );
    }
    if (body.scopes !== undefined && body.scopes.join(" ").length > TAG_VALUE_MAX) {
      issue("scopes", `must fit in ${TAG_VALUE_MAX} characters together`);
    }
  });
export type ImportRequest = z.infer<typeof importRequestSchema>;

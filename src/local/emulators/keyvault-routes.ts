import type http from "node:http";
import { z } from "zod";
import { readText } from "./emulator-http.js";
import type { KeyVaultOperation } from "./keyvault.js";
import {
  KvError,
  MAX_VALUE_BYTES,
  NAME,
  type Secret,
  type SecretState,
  type Version,
} from "./keyvault-state.js";
import type { Wire } from "./keyvault-wire.js";

/** The Key Vault emulator's data-plane routes: request parsing and the state changes each makes. */

const attributesSchema = z
  .object({
    enabled: z.boolean().optional(),
    nbf: z.number().int().optional(),
    exp: z.number().int().optional(),
  })
  .loose();
const tagsSchema = z
  .record(z.string().min(1).max(512), z.string().max(256))
  .refine((t) => Object.keys(t).length <= 15, "too many tags");
const setSchema = z
  .object({
    value: z.string(),
    contentType: z.string().max(255).optional(),
    tags: tagsSchema.optional(),
    attributes: attributesSchema.optional(),
  })
  .loose();
const updateSchema = z
  .object({
    contentType: z.string().max(255).optional(),
    tags: tagsSchema.optional(),
    attributes: attributesSchema.optional(),
  })
  .loose();

export type Route = {
  method: string;
  pattern: RegExp;
  op: KeyVaultOperation;
  run: (req: http.IncomingMessage, m: string[], q: URLSearchParams) => Promise<[number, unknown?]>;
};

export function keyVaultRoutes(
  state: SecretState,
  wire: Wire,
  now: () => number,
  recoverableDays: number,
): Route[] {
  const { secrets, secretOf, latest, sortedSecrets, refuseDisabledDeleted, newVersionId } = state;
  const { recovery, bundle, item, deletedExtras, page } = wire;

  function requireName(name: string): void {
    if (!NAME.test(name)) {
      throw new KvError(
        400,
        "BadParameter",
        `The request URI contains an invalid name: ${name.slice(0, 130)}`,
      );
    }
  }

  async function jsonBody<T extends z.ZodType>(req: http.IncomingMessage, schema: T): Promise<z.output<T>> {
    const text = await readText(req, 64 * 1024);
    if (text === null) throw new KvError(413, "BadParameter", "The request body is too large.");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KvError(400, "BadParameter", "The request body is not valid JSON.");
    }
    const result = schema.safeParse(json);
    // The message names the failing property, never a value.
    if (!result.success) {
      const where = result.error.issues.map((i) => i.path.join(".") || "(body)").join(", ");
      throw new KvError(400, "BadParameter", `Invalid request body: ${where}`);
    }
    return result.data;
  }

  return [
    {
      method: "PUT",
      pattern: /^\/secrets\/([^/]+)$/,
      op: "setSecret",
      run: async (req, [name = ""]) => {
        requireName(name);
        const body = await jsonBody(req, setSchema);
        if (Buffer.byteLength(body.value) > MAX_VALUE_BYTES) {
          throw new KvError(400, "BadParameter", "The secret value exceeds the maximum size of 25 KB.");
        }
        const existing = secrets.get(name.toLowerCase());
        if (existing?.deleted !== undefined) {
          throw new KvError(
            409,
            "Conflict",
            `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
            "ObjectIsDeletedButRecoverable",
          );
        }
        const t = now();
        const s: Secret = existing ?? { name, versions: [] };
        const a = body.attributes;
        const v: Version = {
          id: newVersionId(s.name),
          value: body.value,
          ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
          ...(body.tags !== undefined ? { tags: body.tags } : {}),
          attributes: {
            enabled: a?.enabled ?? true,
            ...(a?.nbf !== undefined ? { nbf: a.nbf } : {}),
            ...(a?.exp !== undefined ? { exp: a.exp } : {}),
            created: t,
            updated: t,
          },
        };
        s.versions.push(v);
        secrets.set(name.toLowerCase(), s);
        return [200, bundle(s, v, true)];
      },
    },
    {
      method: "GET",
      pattern: /^\/secrets$/,
      op: "listSecrets",
      run: (_req, _m, q) =>
        Promise.resolve([
          200,
          page(
            sortedSecrets("all"),
            (s) => s.name.toLowerCase(),
            (s) => item(s, latest(s), false),
            "/secrets",
            q,
            (s) => s.deleted === undefined,
          ),
        ]),
    },
    {
      method: "GET",
      pattern: /^\/secrets\/([^/]+)\/versions$/,
      op: "listVersions",
      run: (_req, [name = ""], q) => {
        const s = secretOf(name, false);
        const versions = [...s.versions].sort((a, b) => (a.id < b.id ? -1 : 1));
        return Promise.resolve([
          200,
          page(
            versions,
            (v) => v.id,
            (v) => item(s, v, true),
            `/secrets/${s.name}/versions`,
            q,
          ),
        ]);
      },
    },
    {
      method: "GET",
      pattern: /^\/secrets\/([^/]+)(?:\/([0-9a-f]{32})?)?$/i,
      op: "getSecret",
      run: (_req, [name = "", version]) => {
        const s = secretOf(name, false);
        const v =
          version === undefined || version === ""
            ? latest(s)
            : s.versions.find((x) => x.id.toLowerCase().endsWith(`/${version.toLowerCase()}`));
        if (v === undefined) {
          throw new KvError(
            404,
            "SecretNotFound",
            `A secret with (name/id) ${name}/${version ?? ""} was not found in this key vault.`,
          );
        }
        if (!v.attributes.enabled) {
          throw new KvError(
            403,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            "SecretDisabled",
          );
        }
        return Promise.resolve([200, bundle(s, v, true)]);
      },
    },
    {
      method: "PATCH",
      pattern: /^\/secrets\/([^/]+)\/([0-9a-f]{32})?$/i,
      op: "updateSecret",
      run: async (req, [name = "", version]) => {
        const s = secretOf(name, false);
        const v =
          version === undefined || version === ""
            ? latest(s)
            : s.versions.find((x) => x.id.toLowerCase().endsWith(`/${version.toLowerCase()}`));
        if (v === undefined)
          throw new KvError(404, "SecretNotFound", `A secret with (name/id) ${name} was not found.`);
        const body = await jsonBody(req, updateSchema);
        if (body.contentType !== undefined) v.contentType = body.contentType;
        if (body.tags !== undefined) v.tags = body.tags;
        const a = body.attributes;
        if (a?.enabled !== undefined) v.attributes.enabled = a.enabled;
        if (a?.nbf !== undefined) v.attributes.nbf = a.nbf;
        if (a?.exp !== undefined) v.attributes.exp = a.exp;
        v.attributes.updated = now();
        return [200, bundle(s, v, false)];
      },
    },
    {
      method: "DELETE",
      pattern: /^\/secrets\/([^/]+)$/,
      op: "deleteSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, false);
        const t = now();
        if (recoverableDays === 0) {
          secrets.delete(name.toLowerCase());
          return Promise.resolve([200, bundle(s, latest(s), false)]);
        }
        s.deleted = { deletedDate: t, scheduledPurgeDate: t + recoverableDays * 86400 };
        return Promise.resolve([200, { ...bundle(s, latest(s), false), ...deletedExtras(s) }]);
      },
    },
    {
      method: "GET",
      pattern: /^\/deletedsecrets$/,
      op: "listDeletedSecrets",
      run: (_req, _m, q) =>
        Promise.resolve([
          200,
          page(
            sortedSecrets(true),
            (s) => s.name.toLowerCase(),
            (s) => ({ ...item(s, latest(s), false), ...deletedExtras(s) }),
            "/deletedsecrets",
            q,
          ),
        ]),
    },
    {
      method: "GET",
      pattern: /^\/deletedsecrets\/([^/]+)$/,
      op: "getDeletedSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, true);
        refuseDisabledDeleted(s);
        return Promise.resolve([200, { ...bundle(s, latest(s), false), ...deletedExtras(s) }]);
      },
    },
    {
      method: "POST",
      pattern: /^\/deletedsecrets\/([^/]+)\/recover$/,
      op: "recoverDeletedSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, true);
        delete s.deleted;
        const v = latest(s);
        return Promise.resolve([200, { id: v.id, attributes: { ...v.attributes, ...recovery() } }]);
      },
    },
    {
      method: "DELETE",
      pattern: /^\/deletedsecrets\/([^/]+)$/,
      op: "purgeDeletedSecret",
      run: (_req, [name = ""]) => {
        secretOf(name, true);
        secrets.delete(name.toLowerCase());
        return Promise.resolve([204]);
      },
    },
  ];
}

import type { TokenCredential } from "@azure/core-auth";
import { isRestError } from "@azure/core-rest-pipeline";
import { SecretClient, type SecretClientOptions } from "@azure/keyvault-secrets";
import { z } from "zod";
import { extraCaPolicy } from "../net/extra-ca-policy.js";
import {
  SecretDisabledError,
  SecretNotFoundError,
  VaultRejectedError,
  VaultUnavailableError,
  type SecretStore,
  type StoredSecret,
} from "./secret-store.js";

export interface KeyVaultStoreOptions {
  /** Dev stack only: trust the emulator's self-signed CA and its loopback host. */
  extraCa?: string;
  maxRetries?: number;
}

export function keyVaultClientOptions(options: KeyVaultStoreOptions): SecretClientOptions {
  return {
    retryOptions: { maxRetries: options.maxRetries ?? 3, maxRetryDelayInMs: 8000 },
    ...(options.extraCa !== undefined
      ? {
          additionalPolicies: [{ policy: extraCaPolicy(options.extraCa), position: "perCall" as const }],
          // The emulator lives outside vault.azure.net; against Azure the check stays on.
          disableChallengeResourceVerification: true,
        }
      : {}),
  };
}

/** What the SDK hands back, checked before the domain relies on it (an upstream response). */
const bundleSchema = z.object({
  value: z.string(),
  properties: z.object({
    name: z.string(),
    version: z.string().optional(),
    enabled: z.boolean().optional(),
    expiresOn: z.date().optional(),
    contentType: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
  }),
});

export class KeyVaultSecretStore implements SecretStore {
  readonly client: SecretClient;

  constructor(vaultUrl: string, credential: TokenCredential, options: KeyVaultStoreOptions = {}) {
    this.client = new SecretClient(vaultUrl, credential, keyVaultClientOptions(options));
  }

  async getSecret(name: string): Promise<StoredSecret> {
    let raw: unknown;
    try {
      raw = await this.client.getSecret(name);
    } catch (error) {
      throw mapVaultError(error);
    }
    const parsed = bundleSchema.safeParse(raw);
    if (!parsed.success) throw new VaultRejectedError(undefined);
    const { value, properties: p } = parsed.data;
    if (p.enabled === false) throw new SecretDisabledError("disabled");
    return {
      name: p.name,
      value,
      version: p.version ?? "",
      contentType: p.contentType,
      expiresOn: p.expiresOn,
      tags: p.tags ?? {},
    };
  }
}

// The SDK's deserialiser renames the wire's `innererror` to `innerError`; accept both.
const innerCode = z.object({ code: z.string() }).optional();
const restErrorBody = z.object({
  error: z.object({ code: z.string().optional(), innererror: innerCode, innerError: innerCode }),
});

/** SDK errors -> our errors, by status and code only: messages may quote upstream text. */
export function mapVaultError(error: unknown): Error {
  if (isRestError(error)) {
    const status = error.statusCode;
    if (status === 404) return new SecretNotFoundError("not found");
    if (status === 403) {
      const body = restErrorBody.safeParse(error.details);
      const inner = body.success ? (body.data.error.innerError ?? body.data.error.innererror) : undefined;
      if (inner?.code === "SecretDisabled") {
        return new SecretDisabledError("disabled");
      }
      return new VaultRejectedError(status);
    }
    if (status === 429 || status === 408 || status === undefined || status >= 500) {
      return new VaultUnavailableError(retryAfterOf(error.response?.headers.get("retry-after")));
    }
    return new VaultRejectedError(status);
  }
  // Credential failures (no identity, Entra down) also mean "try again later" to our caller.
  return new VaultUnavailableError(undefined);
}

function retryAfterOf(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(Math.ceil(seconds), 300);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, Math.ceil((date - Date.now()) / 1000)), 300);
}

import type { TokenCredential } from "@azure/core-auth";
import { isRestError, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { AsyncLocalStorage } from "node:async_hooks";
import { SecretClient, type SecretClientOptions } from "@azure/keyvault-secrets";
import { z } from "zod";
import { extraCaPolicy } from "../net/extra-ca-policy.js";
import { jsonOrUndefined } from "../net/json-text.js";
import { isLoopbackUrl } from "../net/loopback.js";
import {
  SecretDisabledError,
  SecretNotFoundError,
  VaultRejectedError,
  type SecretPage,
  type SecretProperties,
  type SecretStore,
  type SecretWrite,
  type StoredSecret,
} from "./secret-store.js";
import { mapVaultError } from "./vault-errors.js";

export interface KeyVaultStoreOptions {
  /** Dev stack only: trust the emulator's self-signed CA and its loopback host. */
  extraCa?: string;
  maxRetries?: number;
  /** A policy that sees every attempt (the upstream-call metrics). */
  observe?: PipelinePolicy;
}

/**
 * The SDK's byPage() drops the page's continuation token (its mapped pages are new arrays), so
 * the nextLink of a listing page is read off the wire, within the one listPage call that asked.
 */
const pageCapture = new AsyncLocalStorage<{ nextLink: string | undefined }>();
const listPageSchema = z.object({ value: z.array(z.unknown()), nextLink: z.string().nullish() });

const nextLinkPolicy: PipelinePolicy = {
  name: "tokenBrokerNextLink",
  async sendRequest(request, next) {
    const response = await next(request);
    const capture = pageCapture.getStore();
    if (capture !== undefined && response.status === 200) {
      const page = listPageSchema.safeParse(jsonOrUndefined(response.bodyAsText));
      if (page.success) capture.nextLink = page.data.nextLink ?? undefined;
    }
    return response;
  },
};

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

const propertiesSchema = z.object({
  name: z.string(),
  version: z.string().optional(),
  enabled: z.boolean().optional(),
  expiresOn: z.date().optional(),
  createdOn: z.date().optional(),
  updatedOn: z.date().optional(),
  contentType: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

function toProperties(raw: unknown): SecretProperties {
  const parsed = propertiesSchema.safeParse(raw);
  if (!parsed.success) throw new VaultRejectedError(undefined);
  const p = parsed.data;
  return {
    name: p.name,
    version: p.version ?? "",
    enabled: p.enabled ?? true,
    contentType: p.contentType,
    expiresOn: p.expiresOn,
    createdOn: p.createdOn,
    updatedOn: p.updatedOn,
    tags: p.tags ?? {},
  };
}

/** The vault's SDK calls, each with its errors mapped to ours. */
async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw mapVaultError(error);
  }
}

export class KeyVaultSecretStore implements SecretStore {
  readonly client: SecretClient;
  private readonly origin: string;

  constructor(vaultUrl: string, credential: TokenCredential, options: KeyVaultStoreOptions = {}) {
    const clientOptions = keyVaultClientOptions(options);
    // A vault on loopback is an emulator (dev stack, worker tests): it cannot answer under vault.azure.net.
    if (isLoopbackUrl(vaultUrl)) clientOptions.disableChallengeResourceVerification = true;
    clientOptions.additionalPolicies = [
      ...(clientOptions.additionalPolicies ?? []),
      { policy: nextLinkPolicy, position: "perCall" },
      ...(options.observe !== undefined ? [{ policy: options.observe, position: "perRetry" as const }] : []),
    ];
    this.client = new SecretClient(vaultUrl, credential, clientOptions);
    this.origin = new URL(vaultUrl).origin;
  }

  async getProperties(name: string): Promise<SecretProperties> {
    try {
      return toProperties((await call(() => this.client.getSecret(name))).properties);
    } catch (error) {
      if (!(error instanceof SecretDisabledError)) throw error;
    }
    // A disabled latest version cannot be read, but its metadata can be listed.
    const versions = await this.listVersions(name);
    const latest = versions.reduce<SecretProperties | undefined>(
      (a, b) => (a === undefined || (b.createdOn?.getTime() ?? 0) >= (a.createdOn?.getTime() ?? 0) ? b : a),
      undefined,
    );
    if (latest === undefined) throw new SecretNotFoundError("not found");
    return latest;
  }

  isOwnContinuation(continuation: string): boolean {
    try {
      const url = new URL(continuation);
      return (
        url.origin === this.origin && url.pathname === "/secrets" && url.username === "" && url.hash === ""
      );
    } catch {
      return false;
    }
  }

  async listPage(continuation: string | undefined): Promise<SecretPage> {
    // The SDK fetches a continuation verbatim with the vault's bearer token: only our vault's own.
    if (continuation !== undefined && !this.isOwnContinuation(continuation)) {
      throw new VaultRejectedError(undefined);
    }
    const capture: { nextLink: string | undefined } = { nextLink: undefined };
    return pageCapture.run(capture, () =>
      call(async () => {
        const pages = this.client
          .listPropertiesOfSecrets()
          .byPage(continuation !== undefined ? { continuationToken: continuation } : {});
        const first = await pages.next();
        const items = first.done === true ? [] : (first.value as unknown[]).map(toProperties);
        return { items, next: capture.nextLink };
      }),
    );
  }

  async listVersions(name: string): Promise<SecretProperties[]> {
    return call(async () => {
      const out: SecretProperties[] = [];
      for await (const p of this.client.listPropertiesOfSecretVersions(name)) out.push(toProperties(p));
      return out;
    });
  }

  async setSecret(name: string, value: string, write: SecretWrite): Promise<SecretProperties> {
    const secret = await call(() =>
      this.client.setSecret(name, value, {
        tags: write.tags,
        ...(write.contentType !== undefined ? { contentType: write.contentType } : {}),
        ...(write.expiresOn !== undefined ? { expiresOn: write.expiresOn } : {}),
      }),
    );
    return toProperties(secret.properties);
  }

  async updateProperties(
    name: string,
    version: string,
    update: { expiresOn?: Date | undefined; tags?: Record<string, string>; enabled?: boolean },
  ): Promise<SecretProperties> {
    return toProperties(
      await call(() =>
        this.client.updateSecretProperties(name, version, {
          ...(update.tags !== undefined ? { tags: update.tags } : {}),
          ...(update.expiresOn !== undefined ? { expiresOn: update.expiresOn } : {}),
          ...(update.enabled !== undefined ? { enabled: update.enabled } : {}),
        }),
      ),
    );
  }

  async deleteSecret(name: string): Promise<{ recoverableDays: number }> {
    // The poller's first step sends the DELETE; the secret is soft-deleted from then on, so the
    // answer does not wait for the vault to finish purging its caches.
    const poller = await call(() => this.client.beginDeleteSecret(name));
    const days = poller.getOperationState().result?.properties.recoverableDays;
    return { recoverableDays: typeof days === "number" ? days : 0 };
  }

  async getDeletedProperties(name: string): Promise<SecretProperties | undefined> {
    try {
      return toProperties((await this.client.getDeletedSecret(name)).properties);
    } catch (error) {
      const mapped = mapVaultError(error);
      if (mapped instanceof SecretNotFoundError) return undefined;
      // A secret deleted while disabled answers 403 AccessDenied here, as a missing permission
      // would: only the deleted listing (metadata, list permission) tells the two apart.
      if (isRestError(error) && error.statusCode === 403) {
        const listed = await this.findDeleted(name);
        if (listed !== undefined) return listed;
      }
      throw mapped;
    }
  }

  /** The deleted listing's entry for `name`, page by page (only on the rare 403 above). */
  private async findDeleted(name: string): Promise<SecretProperties | undefined> {
    const wanted = name.toLowerCase();
    return call(async () => {
      for await (const deleted of this.client.listDeletedSecrets()) {
        if (deleted.properties.name.toLowerCase() === wanted) return toProperties(deleted.properties);
      }
      return undefined;
    });
  }

  async recoverDeleted(name: string): Promise<void> {
    await call(async () => {
      const poller = await this.client.beginRecoverDeletedSecret(name, { intervalInMs: 1000 });
      await poller.pollUntilDone();
    });
  }

  async getSecret(name: string, version?: string): Promise<StoredSecret> {
    const raw: unknown = await call(() =>
      this.client.getSecret(name, version !== undefined ? { version } : {}),
    );
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

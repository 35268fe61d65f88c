import { ClientSecretCredential } from "@azure/identity";
import type { ApplicationPasswordsClient } from "../graph/application-passwords-client.js";
import { GraphError } from "../graph/graph-error.js";
import { TAG } from "../inventory/managed-credential.js";
import { extraCaPolicy } from "../net/extra-ca-policy.js";
import { isLoopbackUrl } from "../net/loopback.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { credentialOfMarker, markerFor } from "./marker.js";
import { RotationError, type StepHook } from "./rotation-error.js";
import {
  DAY_MS,
  lifetimeDaysOf,
  sleep,
  type FreshCredential,
  type MarkedUpstream,
  type Rotator,
} from "./rotator.js";

export interface ClientSecretRotatorOptions {
  /** This deployment's id in the markers (deploymentIdOf the vault URL). */
  deploymentId: string;
  passwords: ApplicationPasswordsClient;
  tenantId: string;
  authorityHost: string;
  /** A resource any app may get a client-credentials token for (Graph), as `{resource}/.default`. */
  verifyScope: string;
  extraCa?: string | undefined;
  now: () => number;
  /** A new secret takes seconds to minutes to work everywhere: tries and the first back-off. */
  verifyAttempts?: number;
  verifyDelayMs?: number;
}

/**
 * App client secrets through Graph (addPassword / removePassword) with the broker's identity. A new
 * secret is promoted only after a real client-credentials token request with it succeeds, retried
 * with back-off within a bound, because Entra takes a while to accept a new secret everywhere.
 */
export class ClientSecretRotator implements Rotator {
  readonly upstreamIdTag = TAG.keyId;

  constructor(private readonly options: ClientSecretRotatorOptions) {}

  async create(
    name: string,
    tags: Readonly<Record<string, string>>,
    step: StepHook,
  ): Promise<FreshCredential> {
    const objectId = tags[TAG.applicationObjectId];
    const clientId = tags[TAG.clientId];
    const days = lifetimeDaysOf(tags);
    if (objectId === undefined || clientId === undefined || days === undefined) {
      throw new RotationError("missing_rotation_settings", false);
    }
    return guard(async () => {
      const now = this.options.now();
      const added = await this.options.passwords.addPassword(objectId, {
        displayName: markerFor(this.options.deploymentId, name, now),
        endDateTime: new Date(now + days * DAY_MS),
      });
      await step("created", name);
      if (!(await this.works(clientId, added.secretText))) {
        await this.options.passwords.removePassword(objectId, added.keyId).catch(() => undefined);
        throw new RotationError("new_secret_not_accepted", true);
      }
      await step("verified", name);
      return { value: added.secretText, expiresOn: added.endDateTime, upstreamId: added.keyId };
    });
  }

  private async works(clientId: string, secret: string): Promise<boolean> {
    const { tenantId, authorityHost, extraCa } = this.options;
    const attempts = this.options.verifyAttempts ?? 6;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(Math.min((this.options.verifyDelayMs ?? 2000) * 2 ** (i - 1), 30_000));
      // A new credential each try: MSAL must not answer from a cache.
      const credential = new ClientSecretCredential(tenantId, clientId, secret, {
        authorityHost,
        disableInstanceDiscovery: isLoopbackUrl(authorityHost),
        retryOptions: { maxRetries: 0 },
        ...(extraCa !== undefined
          ? { additionalPolicies: [{ policy: extraCaPolicy(extraCa), position: "perCall" as const }] }
          : {}),
      });
      try {
        await credential.getToken(this.options.verifyScope);
        return true;
      } catch {
        // Not yet (propagation) or never; the caller decides after the last try.
      }
    }
    return false;
  }

  async revoke(tags: Readonly<Record<string, string>>, upstreamId: string): Promise<"revoked" | "not-found"> {
    const objectId = tags[TAG.applicationObjectId];
    if (objectId === undefined) throw new RotationError("no_application", false);
    // `not-found` only when Graph's own listing shows the password gone. An unknown (or unseen)
    // application stays a failure: its passwords may still work (a soft-deleted app is restored
    // with them), so the credential is kept until someone looks.
    return guard(async () =>
      (await this.options.passwords.removePassword(objectId, upstreamId)) === "removed"
        ? "revoked"
        : "not-found",
    );
  }

  async marked(credentials: readonly SecretProperties[]): Promise<MarkedUpstream[]> {
    const apps = new Set<string>();
    for (const c of credentials) {
      const app = c.tags[TAG.applicationObjectId];
      if (c.tags[TAG.kind] === "client-secret" && app !== undefined) apps.add(app);
    }
    const out: MarkedUpstream[] = [];
    for (const objectId of apps) {
      const passwords = await guard(() => this.options.passwords.listPasswords(objectId));
      for (const p of passwords) {
        const credential = credentialOfMarker(this.options.deploymentId, p.displayName ?? "");
        if (credential === undefined) continue;
        out.push({
          credential,
          upstreamId: p.keyId,
          createdAt: p.startDateTime.getTime(),
          revoke: () =>
            guard(() => this.options.passwords.removePassword(objectId, p.keyId)).then(() => undefined),
        });
      }
    }
    return out;
  }
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof GraphError) {
      throw new RotationError(`graph_${error.operation}_${error.reason.kind}`, error.transient);
    }
    throw error;
  }
}

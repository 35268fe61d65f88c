import { ClientSecretCredential } from "@azure/identity";
import type {
  ApplicationPasswords,
  ApplicationPasswordsClient,
  PasswordCredential,
} from "../graph/application-passwords-client.js";
import { GraphError } from "../graph/graph-error.js";
import { TAG } from "../inventory/managed-credential.js";
import { extraCaPolicy } from "../net/extra-ca-policy.js";
import { isLoopbackUrl } from "../net/loopback.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { credentialOfMarker, markerFor } from "./marker.js";
import { refuse, verifiedKeyIds } from "./password-ownership.js";
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
  /** The policy's `rotation.applications` (lower-case object ids); undefined: no list. */
  managedApplications?: () => ReadonlySet<string> | undefined;
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
      await this.ownApplication(tags);
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

  /**
   * The application these tags name, checked before any add or remove: on the policy's list (when
   * there is one), and its appId the client id the broker recorded (an object id typed for another
   * app would otherwise let the broker change that app).
   */
  private async ownApplication(tags: Readonly<Record<string, string>>): Promise<ApplicationPasswords> {
    const objectId = tags[TAG.applicationObjectId]?.toLowerCase();
    if (objectId === undefined) throw new RotationError("no_application", false);
    this.requireListed(objectId);
    const app = await this.options.passwords.application(objectId);
    const clientId = tags[TAG.clientId]?.toLowerCase();
    if (clientId === undefined || app.appId !== clientId) throw refuse("client_id_mismatch");
    return app;
  }

  private requireListed(objectId: string): void {
    const listed = this.options.managedApplications?.();
    if (listed !== undefined && !listed.has(objectId.toLowerCase())) throw refuse("application_not_managed");
  }

  /** Ours: created by this deployment (its marker), or its value proven at import. */
  private isOurs(password: PasswordCredential, tags: Readonly<Record<string, string>>): boolean {
    if (credentialOfMarker(this.options.deploymentId, password.displayName ?? "") !== undefined) return true;
    return verifiedKeyIds(tags).has(password.keyId.toLowerCase());
  }

  /**
   * Import of a client secret: refuses an application off the list or whose appId is not the
   * client id; true when `value` is proven to be the recorded keyId's password (Graph's hint of
   * that keyId fits the value and Entra issues a token for it), so the broker may remove it later.
   */
  async prove(tags: Readonly<Record<string, string>>, value: string | undefined): Promise<boolean> {
    const objectId = tags[TAG.applicationObjectId];
    if (objectId === undefined) return false;
    this.requireListed(objectId);
    const keyId = tags[TAG.keyId]?.toLowerCase();
    const clientId = tags[TAG.clientId];
    if (value === undefined || keyId === undefined || clientId === undefined) return false;
    let app: ApplicationPasswords;
    try {
      app = await guard(() => this.ownApplication(tags));
    } catch (error) {
      if (error instanceof RotationError && error.code === "client_id_mismatch") throw error;
      return false; // Graph unreachable or the app unknown: stored, but not proven (never removable).
    }
    const password = app.passwords.find((p) => p.keyId === keyId);
    if (password === undefined) return false;
    if (password.hint !== null && password.hint !== "" && !value.startsWith(password.hint)) return false;
    return this.works(clientId, value, 1);
  }

  private async works(clientId: string, secret: string, tries?: number): Promise<boolean> {
    const { tenantId, authorityHost, extraCa } = this.options;
    const attempts = tries ?? this.options.verifyAttempts ?? 6;
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
    return guard(async () => {
      const app = await this.ownApplication(tags);
      const password = app.passwords.find((p) => p.keyId === upstreamId.toLowerCase());
      if (password === undefined) return "not-found";
      if (!this.isOurs(password, tags)) throw refuse("password_not_ours");
      try {
        await this.options.passwords.removePassword(objectId, upstreamId);
        return "revoked";
      } catch (error) {
        if (error instanceof GraphError && error.reason.kind === "not-found") return "not-found";
        throw error;
      }
    });
  }

  async marked(credentials: readonly SecretProperties[]): Promise<MarkedUpstream[]> {
    // Per application, the client ids its credentials record: all must be its appId.
    const apps = new Map<string, Set<string | undefined>>();
    for (const c of credentials) {
      const app = c.tags[TAG.applicationObjectId]?.toLowerCase();
      if (c.tags[TAG.kind] !== "client-secret" || app === undefined) continue;
      const clientIds = apps.get(app) ?? new Set();
      clientIds.add(c.tags[TAG.clientId]?.toLowerCase());
      apps.set(app, clientIds);
    }
    const listed = this.options.managedApplications?.();
    const out: MarkedUpstream[] = [];
    for (const [objectId, clientIds] of apps) {
      // Off the list, or not the app its credentials say: nothing there is touched.
      if (listed !== undefined && !listed.has(objectId)) continue;
      const app = await guard(() => this.options.passwords.application(objectId));
      if (clientIds.size !== 1 || !clientIds.has(app.appId)) continue;
      for (const p of app.passwords) {
        const credential = credentialOfMarker(this.options.deploymentId, p.displayName ?? "");
        if (credential === undefined) continue;
        out.push({
          credential,
          upstreamId: p.keyId,
          createdAt: p.startDateTime.getTime(),
          revoke: () => guard(() => this.options.passwords.removePassword(objectId, p.keyId)),
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

import type { TokenMinter } from "../entra/token-minter.js";
import type {
  ApplicationPasswords,
  ApplicationPasswordsClient,
  PasswordCredential,
} from "../graph/application-passwords-client.js";
import { GraphError } from "../graph/graph-error.js";
import { TAG } from "../inventory/managed-credential.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { credentialOfMarker, markerFor } from "./marker.js";
import { refuse, verifiedKeyIds } from "./password-ownership.js";
import { RotationError, type StepHook } from "./rotation-error.js";
import {
  DAY_MS,
  lifetimeDaysOf,
  sleep,
  type Acceptance,
  type FreshCredential,
  type MarkedUpstream,
  type Rotator,
} from "./rotator.js";

export interface ClientSecretRotatorOptions {
  /** This deployment's id in the markers (deploymentIdOf the vault URL). */
  deploymentId: string;
  passwords: ApplicationPasswordsClient;
  tenantId: string;
  /** Builds the client-secret credential each verification try requests a token with. */
  minter: TokenMinter;
  /** A resource any app may get a client-credentials token for (Graph), as `{resource}/.default`. */
  verifyScope: string;
  now: () => number;
  /**
   * Right after addPassword, the waits between further tries (default 3 s, then 6 s): Entra often
   * accepts a new secret within seconds. Whatever it still refuses then is stored pending
   * verification and tried once per later pass, so no sweep waits minutes on one credential.
   */
  retryDelaysMs?: readonly number[];
  /** The policy's `rotation.applications` (lower-case object ids); undefined: no list. */
  managedApplications?: () => ReadonlySet<string> | undefined;
}

const RETRY_DELAYS_MS = [3000, 6000];

/**
 * App client secrets through Graph (addPassword / removePassword) with the broker's identity. A new
 * secret is promoted only after a real client-credentials token request with it succeeds. Entra
 * takes seconds to ~10 minutes to accept one everywhere, so one it does not accept within a short
 * bounded retry is not removed: it is answered `pending`, and later passes check it with `accepts`.
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
      const fresh = { value: added.secretText, expiresOn: added.endDateTime, upstreamId: added.keyId };
      let outcome = await this.accepted(clientId, added.secretText);
      for (const delay of this.options.retryDelaysMs ?? RETRY_DELAYS_MS) {
        if (outcome === "accepted") break;
        await sleep(delay);
        outcome = await this.accepted(clientId, added.secretText);
      }
      if (outcome !== "accepted") return { ...fresh, pending: true };
      await step("verified", name);
      return fresh;
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
    return (await this.accepted(clientId, value)) === "accepted";
  }

  async accepts(tags: Readonly<Record<string, string>>, value: string): Promise<Acceptance> {
    const clientId = tags[TAG.clientId];
    if (clientId === undefined) throw new RotationError("missing_rotation_settings", false);
    return this.accepted(clientId, value);
  }

  /** One real client-credentials token request with the secret. */
  private async accepted(clientId: string, secret: string): Promise<Acceptance> {
    const { tenantId, minter } = this.options;
    // A new credential each try: MSAL must not answer from a cache.
    const credential = minter.clientSecret(tenantId, clientId, secret, { maxRetries: 0 });
    try {
      await credential.getToken(this.options.verifyScope);
      return "accepted";
    } catch (error) {
      // Refused: not yet propagated, or never will be. Unavailable: no verdict either way.
      return minter.classify(error) === "entra_refused" ? "refused" : "unavailable";
    }
  }

  async revoke(tags: Readonly<Record<string, string>>, upstreamId: string): Promise<"revoked" | "not-found"> {
    const objectId = tags[TAG.applicationObjectId];
    if (objectId === undefined) throw new RotationError("no_application", false);
    // `not-found` only when Graph's own listing shows the password gone. An unknown (or unseen)
    // application stays a failure: its passwords may still work (a soft-deleted app is restored
    // with them), so the credential is kept until someone looks.
    return guard(async () => {
      const app = await this.ownApplication(tags);
      const password = app.passwords.find((p) => p.keyId === upstreamId.toLowerCase());
      if (password === undefined) return "not-found";
      if (!this.isOurs(password, tags)) throw refuse("password_not_ours");
      return (await this.options.passwords.removePassword(objectId, upstreamId)) === "removed"
        ? "revoked"
        : "not-found";
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

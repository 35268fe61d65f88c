import { DevOpsError } from "../devops/devops-error.js";
import { checkPat } from "../devops/pat-check.js";
import type { PatLifecycleClient } from "../devops/pat-lifecycle-client.js";
import { RotatorIdentityError, type RotatorIdentity } from "../devops/rotator-identity.js";
import { ALL_ORGANIZATIONS, FULL_ACCESS_SCOPE, splitScopes, TAG } from "../inventory/managed-credential.js";
import type { HttpSend } from "../net/http-request.js";
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

export interface PatRotatorOptions {
  /** This deployment's id in the markers (deploymentIdOf the vault URL). */
  deploymentId: string;
  identity: RotatorIdentity;
  /** A PAT Lifecycle client acting as the grant's user. */
  pats: (grantName: string) => PatLifecycleClient;
  /** Azure DevOps organizations host, for the proof call. */
  devopsUrl: string;
  send: HttpSend;
  now: () => number;
  /** Tries of the proof call (a new PAT can take a moment to be accepted). */
  verifyAttempts?: number;
  verifyDelayMs?: number;
}

const NOT_FOUND = ["authorizationNotFound", "invalidAuthorizationId", "tokenNotFound"];

/**
 * PATs through the PAT Lifecycle API as the rotator's user: always for one organization
 * (`allOrgs: false`), with the scopes and lifetime the credential records, a marker in the
 * display name, and proven with an authenticated call before the vault ever sees them.
 */
export class PatRotator implements Rotator {
  readonly upstreamIdTag = TAG.authorizationId;

  constructor(private readonly options: PatRotatorOptions) {}

  private async client(organization: string): Promise<PatLifecycleClient> {
    const grant = await this.options.identity.grantFor(organization);
    if (grant === undefined) throw new RotationError("no_rotator_grant", false);
    return this.options.pats(grant);
  }

  /** Creates a PAT for an organization (also used to import without a value: no person sees it). */
  async create(
    name: string,
    tags: Readonly<Record<string, string>>,
    step: StepHook,
  ): Promise<FreshCredential> {
    const organization = tags[TAG.organization];
    const scopes = splitScopes(tags[TAG.scopes]);
    const days = lifetimeDaysOf(tags);
    // The broker never makes a full-access PAT: whoever holds a profile would act as the rotator's user.
    if (scopes.includes(FULL_ACCESS_SCOPE)) throw new RotationError("full_scope_refused", false);
    if (
      organization === undefined ||
      organization === ALL_ORGANIZATIONS ||
      scopes.length === 0 ||
      days === undefined
    ) {
      throw new RotationError("missing_rotation_settings", false);
    }
    return guard(async () => {
      const client = await this.client(organization);
      const now = this.options.now();
      const created = await client.create(organization, {
        displayName: markerFor(this.options.deploymentId, name, now),
        scope: scopes,
        validTo: new Date(now + days * DAY_MS),
      });
      await step("created", name);
      // Never leave a PAT nobody holds: if it cannot be proven, the vault will not get it.
      const discard = () => client.revoke(organization, created.authorizationId).catch(() => undefined);
      let works: boolean;
      try {
        works = await this.works(organization, created.token);
      } catch (error) {
        await discard();
        throw error;
      }
      if (!works) {
        await discard();
        throw new RotationError("new_pat_not_accepted", true);
      }
      await step("verified", name);
      return { value: created.token, expiresOn: created.validTo, upstreamId: created.authorizationId };
    });
  }

  private async works(organization: string, pat: string): Promise<boolean> {
    const attempts = this.options.verifyAttempts ?? 3;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep((this.options.verifyDelayMs ?? 1000) * 2 ** (i - 1));
      const check = await checkPat(organization, pat, {
        baseUrl: this.options.devopsUrl,
        send: this.options.send,
      });
      if (check.valid) return true;
    }
    return false;
  }

  async revoke(tags: Readonly<Record<string, string>>, upstreamId: string): Promise<"revoked" | "not-found"> {
    const organization = tags[TAG.organization];
    if (organization === undefined || organization === ALL_ORGANIZATIONS) {
      throw new RotationError("no_organization", false);
    }
    return guard(async () => {
      try {
        await (await this.client(organization)).revoke(organization, upstreamId);
        return "revoked";
      } catch (error) {
        if (isNotFound(error)) return "not-found";
        throw error;
      }
    });
  }

  organizations(): Promise<string[]> {
    return guard(() => this.options.identity.organizations());
  }

  async marked(credentials: readonly SecretProperties[]): Promise<MarkedUpstream[]> {
    const organizations = new Set<string>();
    for (const c of credentials) {
      const org = c.tags[TAG.organization];
      // PAT organizations, and those of grants bound to one: a PAT made for an organization that
      // then had no stored PAT (its import failed) must be found too.
      const kind = c.tags[TAG.kind];
      if ((kind === "pat" || kind === "refresh-token") && org !== undefined && org !== ALL_ORGANIZATIONS) {
        organizations.add(org);
      }
    }
    const out: MarkedUpstream[] = [];
    for (const organization of organizations) {
      const grant = await this.options.identity.grantFor(organization);
      if (grant === undefined) continue;
      const client = this.options.pats(grant);
      const pats = await guard(() =>
        client.list(organization, { displayFilterOption: "active", pageSize: 100 }),
      );
      for (const pat of pats) {
        const credential = credentialOfMarker(this.options.deploymentId, pat.displayName);
        if (credential === undefined) continue;
        out.push({
          credential,
          upstreamId: pat.authorizationId,
          createdAt: pat.validFrom.getTime(),
          revoke: () => guard(() => client.revoke(organization, pat.authorizationId)),
        });
      }
    }
    return out;
  }
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof DevOpsError &&
    error.reason.kind === "rejected" &&
    NOT_FOUND.includes(error.reason.patTokenError ?? "")
  );
}

/** Upstream errors as rotation errors with a short code (never upstream text). */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DevOpsError) {
      const detail =
        error.reason.kind === "rejected"
          ? (error.reason.patTokenError ?? String(error.reason.status))
          : undefined;
      throw new RotationError(
        `devops_${error.operation}_${error.reason.kind}${detail !== undefined ? `_${detail}` : ""}`,
        error.transient,
      );
    }
    if (error instanceof RotatorIdentityError) {
      throw new RotationError(`rotator_grant_${error.reason}`, error.reason === "unavailable");
    }
    throw error;
  }
}

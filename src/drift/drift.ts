import { DevOpsError } from "../devops/devops-error.js";
import type { PatLifecycleClient } from "../devops/pat-lifecycle-client.js";
import {
  RotatorIdentityError,
  type RotatorFailure,
  type RotatorIdentity,
} from "../devops/rotator-identity.js";
import type { ApplicationPasswordsClient } from "../graph/application-passwords-client.js";
import { GraphError } from "../graph/graph-error.js";
import { isManaged } from "../inventory/managed-credential.js";
import type { Logger } from "../log.js";
import { allSecrets, VaultError, type SecretProperties, type SecretStore } from "../vault/secret-store.js";
import {
  buildDriftReport,
  driftTargets,
  type PasswordRead,
  type PatRead,
  type ReadFailure,
} from "./drift-report.js";
import type { DriftReport } from "./drift-types.js";

export interface DriftOptions {
  store: SecretStore;
  /** The rotator grants: which one serves an organization, and its user's access token. */
  identity: RotatorIdentity;
  /** A PAT Lifecycle client acting as the grant's user. */
  pats: (grantName: string) => PatLifecycleClient;
  passwords: ApplicationPasswordsClient;
  /** This deployment's id in the markers (deploymentIdOf the vault URL). */
  deploymentId: string;
  now: () => number;
  log: Logger;
  /** `$top` of each PAT listing page (the API takes at most 100). */
  pageSize?: number;
  /** Upstream reads in flight at once. */
  concurrency?: number;
}

/** The API's largest page: fewest calls per organization. */
const PAGE_SIZE = 100;

const GRANT_DETAIL: Record<RotatorFailure, string> = {
  no_grant: "the grant is gone or disabled in the vault",
  grant_refused:
    "Entra refused the grant's refresh token (revoked, expired or consent withdrawn): its user must consent again",
  client_refused: "Entra refused the grant's client (a wrong or expired client secret)",
  client_secret_missing: "the grant's client secret credential is missing or not for its client",
  unsupported_client: "the grant's client type cannot keep a grant",
  unavailable: "Entra could not be reached for the grant's token; try again later",
};

/** Why an upstream read failed, by code and the broker's words; anything else is a bug and propagates. */
function failureOf(error: unknown): ReadFailure {
  if (error instanceof RotatorIdentityError) {
    return { code: `rotator_grant_${error.reason}`, detail: GRANT_DETAIL[error.reason] };
  }
  if (error instanceof DevOpsError) {
    const extra =
      error.reason.kind === "rejected" ? `_${error.reason.patTokenError ?? error.reason.status}` : "";
    return { code: `devops_${error.operation}_${error.reason.kind}${extra}`, detail: error.message };
  }
  if (error instanceof GraphError) {
    return { code: `graph_${error.operation}_${error.reason.kind}`, detail: error.message };
  }
  if (error instanceof VaultError) {
    return { code: "vault_error", detail: "the vault could not be read for this part" };
  }
  throw error;
}

/** Runs `work` over `items`, at most `limit` at a time, keeping their order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * `GET /api/drift`: one vault listing, then per organization one PAT listing (in pages of
 * `$top` = 100) through the grant that serves it, and per application one Graph read.
 */
export class Drift {
  constructor(private readonly options: DriftOptions) {}

  /** `listed`: the managed credentials as just listed (the rotation sweep's), else one listing here. */
  async report(listed?: readonly SecretProperties[], alsoKnown?: ReadonlySet<string>): Promise<DriftReport> {
    const { store, identity, log } = this.options;
    const managed: SecretProperties[] = [];
    if (listed !== undefined) managed.push(...listed);
    else for await (const p of allSecrets(store)) if (isManaged(p.tags)) managed.push(p);
    // The grants come from this listing: no second pass over the vault.
    identity.learnGrants(managed);
    const targets = driftTargets(managed);
    const limit = this.options.concurrency ?? 4;
    const patReads = await mapLimited(targets.organizations, limit, (org) => this.readPats(org));
    const passwordReads = await mapLimited(targets.applications, limit, (app) => this.readPasswords(app));
    const report = buildDriftReport({
      managed,
      targets,
      patReads,
      passwordReads,
      deploymentId: this.options.deploymentId,
      now: this.options.now(),
      alsoKnown,
    });
    log.info("drift.report", {
      credentials: report.checked.credentials,
      organizations: report.checked.organizations.length,
      applications: report.checked.applications.length,
      unmanagedPats: report.unmanagedPats.length,
      unmanagedPasswords: report.unmanagedPasswords.length,
      high: [...report.unmanagedPats, ...report.unmanagedPasswords].filter((f) => f.severity === "high")
        .length,
      missingUpstream: report.missingUpstream.length,
      unreadable: report.unreadable.map((u) => `${u.organization ?? u.applicationObjectId ?? ""}:${u.code}`),
    });
    return report;
  }

  private async readPats(organization: string): Promise<PatRead> {
    let grant: string | undefined;
    try {
      grant = await this.options.identity.grantFor(organization);
      if (grant === undefined) {
        return {
          organization,
          grant,
          result: {
            failure: { code: "no_rotator_grant", detail: "no rotator grant serves this organization" },
          },
        };
      }
      const pats = await this.options.pats(grant).list(organization, {
        displayFilterOption: "active",
        pageSize: this.options.pageSize ?? PAGE_SIZE,
      });
      return { organization, grant, result: { pats } };
    } catch (error) {
      return { organization, grant, result: { failure: failureOf(error) } };
    }
  }

  private async readPasswords(applicationObjectId: string): Promise<PasswordRead> {
    try {
      const passwords = await this.options.passwords.listPasswords(applicationObjectId);
      return { applicationObjectId, result: { passwords } };
    } catch (error) {
      return { applicationObjectId, result: { failure: failureOf(error) } };
    }
  }
}

import type { SecretProperties } from "../vault/secret-store.js";
import type { StepHook } from "./rotation-error.js";

/** A new upstream credential, created (and proven to work unless `pending`), not yet stored. */
export interface FreshCredential {
  value: string;
  expiresOn: Date;
  /** The PAT's authorizationId or the app password's keyId. */
  upstreamId: string;
  /**
   * Not accepted upstream yet, though it may be soon (a client secret takes minutes to reach every
   * Entra front end): stored pending verification, proven by a later pass, never thrown away early.
   */
  pending?: boolean;
}

/** One quick check of a stored credential upstream: one request, no waiting. */
export type Acceptance = "accepted" | "refused" | "unavailable";

/** An upstream credential carrying our marker (a candidate orphan). */
export interface MarkedUpstream {
  credential: string;
  upstreamId: string;
  /** When upstream says it was created (a PAT's validFrom, a password's startDateTime). */
  createdAt: number;
  revoke(): Promise<void>;
}

/** One kind's upstream: create-and-verify, revoke, and what carries our marker there. */
export interface Rotator {
  /** The tag that holds the current upstream id. */
  readonly upstreamIdTag: string;
  /**
   * Creates a credential upstream from the tags' settings and proves it works; revokes it again if
   * it does not, unless the kind may take a while to be accepted (then it answers `pending`).
   */
  create(name: string, tags: Readonly<Record<string, string>>, step: StepHook): Promise<FreshCredential>;
  /** Kinds whose new credentials can be `pending`: is this value accepted now? */
  accepts?(tags: Readonly<Record<string, string>>, value: string): Promise<Acceptance>;
  revoke(tags: Readonly<Record<string, string>>, upstreamId: string): Promise<"revoked" | "not-found">;
  /** PATs: the organizations the rotator's grants serve (named when a migration lacks one). */
  organizations?(): Promise<string[]>;
  /** Upstream credentials with our marker, where these vault credentials live (their orgs or apps). */
  marked(credentials: readonly SecretProperties[]): Promise<MarkedUpstream[]>;
}

export const DAY_MS = 24 * 3600_000;

/** The `lifetime-days` tag, or undefined when missing or out of range. */
export function lifetimeDaysOf(tags: Readonly<Record<string, string>>): number | undefined {
  const days = Number(tags["lifetime-days"]);
  return Number.isInteger(days) && days >= 1 && days <= 366 ? days : undefined;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

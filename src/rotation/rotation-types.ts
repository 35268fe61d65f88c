import type { BrokerMetrics } from "../telemetry/broker-metrics.js";
import type { DriftSweepSummary } from "../drift/drift-watch.js";
import type { CreationAnnouncer } from "../inventory/creation.js";
import type { CredentialKind } from "../inventory/managed-credential.js";
import type { LeaseProvider } from "../lease/lease.js";
import type { Logger } from "../log.js";
import type { SecretProperties, SecretStore } from "../vault/secret-store.js";
import type { StepHook } from "./rotation-error.js";
import type { Rotator } from "./rotator.js";

/** What a sweep did, by name and reason only: never a value. */
export interface RotationReport {
  rotated: { name: string; version: string }[];
  /** New client secrets stored but not yet accepted by Entra: the proven ones are handed out meanwhile. */
  pending: { name: string; version: string; since: string }[];
  revoked: { name: string; upstreamId: string; outcome: "revoked" | "not-found" }[];
  orphansRevoked: { name: string; upstreamId: string }[];
  skipped: { name: string; reason: string }[];
  failed: { name: string; reason: string }[];
  checked: number;
  /** What the drift read after the sweep found, and the drift notices it sent (when drift is wired). */
  drift?: DriftSweepSummary;
}

export interface RotationOptions {
  store: SecretStore;
  leases: LeaseProvider;
  rotators: Partial<Record<CredentialKind, Rotator>>;
  log: Logger;
  now: () => number;
  /** Tells the owner of every new version, once, at creation (not again when a pending one is promoted). */
  announce?: CreationAnnouncer;
  rotateBeforeDays: number;
  revokeGraceMinutes: number;
  /** A new client secret Entra still refuses this long after it was stored is removed (BROKER_SECRET_VERIFY_MINUTES). */
  secretVerifyMinutes: number;
  /** Drift after each sweep: counts for the report, one notice per new finding. */
  drift?: {
    run(managed: readonly SecretProperties[], alsoKnown: ReadonlySet<string>): Promise<DriftSweepSummary>;
  };
  /** Told what a sweep listed (the rotator identity learns its grants from it, not from a second listing). */
  onListed?: (managed: readonly SecretProperties[]) => void;
  /** Outcome counts of each sweep and rotate-now (src/telemetry). */
  metrics?: Pick<BrokerMetrics, "rotation">;
  /** Redeems a rotator grant (a refresh-token credential); throws RotationError when it no longer works. */
  probeGrant?: (name: string) => Promise<void>;
  /** Test hook: called after each step; a SimulatedCrash thrown there is a process dying. */
  afterStep?: StepHook;
  /**
   * An upstream credential with our marker that the vault does not know is revoked only once it is
   * this old: younger, it may belong to a rotation or import still under way (default: the grace
   * period, at least 10 minutes).
   */
  orphanMinAgeMs?: number;
}

/** What a rotation or a verification pass left: rotated (proven, current), or stored pending verification. */
export type RotationOutcome =
  | { name: string; version: string; status: "rotated" }
  | { name: string; version: string; status: "pending-verification"; pendingSince: string };

/** What every part of a rotation works with: the options and the step hook (a no-op outside tests). */
export interface RotationContext {
  options: RotationOptions;
  step: StepHook;
}

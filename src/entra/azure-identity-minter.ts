import {
  AuthenticationError,
  AuthenticationRequiredError,
  ClientSecretCredential,
  ManagedIdentityCredential,
} from "@azure/identity";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { extraCaPolicy } from "../net/extra-ca-policy.js";
import { isLoopbackUrl } from "../net/loopback.js";
import type { MintFailure, TokenMinter } from "./token-minter.js";

export interface AzureIdentityMinterOptions {
  authorityHost: string;
  /** Extra trusted CA (PEM): the dev stack's self-signed certificate. */
  extraCa?: string | undefined;
  /** A policy that sees every attempt (the upstream-call metrics). */
  observe?: PipelinePolicy;
}

/** The one place that builds @azure/identity credentials for minting. */
export function azureIdentityMinter(options: AzureIdentityMinterOptions): TokenMinter {
  const { authorityHost, extraCa, observe } = options;
  const observed = observe !== undefined ? [{ policy: observe, position: "perRetry" as const }] : [];
  return {
    managedIdentity: (clientId) =>
      new ManagedIdentityCredential({
        clientId,
        retryOptions: { maxRetries: 2 },
        ...(observed.length > 0 ? { additionalPolicies: observed } : {}),
      }),
    clientSecret: (tenantId, clientId, secret, { maxRetries }) =>
      new ClientSecretCredential(tenantId, clientId, secret, {
        authorityHost,
        // A loopback authority is the dev stack's emulator: there is no instance metadata to discover.
        disableInstanceDiscovery: isLoopbackUrl(authorityHost),
        retryOptions: { maxRetries },
        additionalPolicies: [
          ...(extraCa !== undefined
            ? [{ policy: extraCaPolicy(extraCa), position: "perCall" as const }]
            : []),
          ...observed,
        ],
      }),
    classify: classifyCredentialError,
  };
}

/**
 * @azure/identity's failures, by class (their messages quote Entra and are never passed on):
 * MSAL server errors for client credentials (bad secret, unknown app, no consent) surface as
 * AuthenticationRequiredError; AuthenticationError carries the HTTP status; anything else
 * (CredentialUnavailableError from the identity endpoint, network) may pass with time.
 */
export function classifyCredentialError(error: unknown): MintFailure {
  if (error instanceof AuthenticationRequiredError) return "entra_refused";
  if (error instanceof AuthenticationError) {
    const s = error.statusCode;
    return s >= 400 && s < 500 && s !== 408 && s !== 429 ? "entra_refused" : "entra_unavailable";
  }
  return "entra_unavailable";
}

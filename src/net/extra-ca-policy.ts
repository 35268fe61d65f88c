import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { rootCertificates } from "node:tls";

/**
 * Lets an Azure SDK client trust one more CA (the dev stack's self-signed certificate) on top of
 * Node's roots. Only the dev stack passes a CA; against Azure no policy is added.
 */
export function extraCaPolicy(ca: string): PipelinePolicy {
  const bundle = [...rootCertificates, ca].join("\n");
  return {
    name: "tokenBrokerExtraCa",
    sendRequest: (request, next) => {
      request.tlsSettings = { ...request.tlsSettings, ca: bundle };
      return next(request);
    },
  };
}

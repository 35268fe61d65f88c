import { createRequire } from "node:module";

/**
 * Azurite's blob service in this process, in memory, on an ephemeral loopback port: the local
 * stand-in for the Functions storage account that holds the sweeps' leases. Loaded only when
 * started (it is a large package), from its compiled modules: its main entry is a VS Code extension.
 */

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const DEV_STORAGE_ACCOUNT = "devstoreaccount1";
const DEV_STORAGE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteBlob {
  /** Blob service endpoint, e.g. http://127.0.0.1:PORT/devstoreaccount1 */
  blobUrl: string;
  /** What AzureWebJobsStorage holds locally. */
  connectionString: string;
  close(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerClass = new (config: unknown) => AzuriteServer;
type ConfigClass = new (...args: unknown[]) => unknown;

export async function startAzuriteBlob(options: { host?: string } = {}): Promise<AzuriteBlob> {
  const require = createRequire(import.meta.url);
  const { default: BlobServer } = require("azurite/dist/src/blob/BlobServer.js") as { default: ServerClass };
  const { default: BlobConfiguration } = require("azurite/dist/src/blob/BlobConfiguration.js") as {
    default: ConfigClass;
  };
  const host = options.host ?? "127.0.0.1";
  // Positional: host, port, keepAlive, metadata/extent db paths, persistence, access log (off),
  // its stream, debug log (off), its path, loose, skipApiVersionCheck (our SDK may be newer),
  // cert, key, pwd, oauth, disableProductStyleUrl, in-memory persistence.
  const config = new BlobConfiguration(
    host,
    0,
    undefined,
    undefined,
    undefined,
    undefined,
    false,
    undefined,
    false,
    undefined,
    false,
    true,
    "",
    "",
    "",
    undefined,
    false,
    true,
  );
  const server = new BlobServer(config);
  await server.start();
  const blobUrl = `${server.getHttpServerAddress()}/${DEV_STORAGE_ACCOUNT}`;
  return {
    blobUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_STORAGE_ACCOUNT};AccountKey=${DEV_STORAGE_KEY};BlobEndpoint=${blobUrl};`,
    close: async () => {
      await server.close();
      await server.clean();
    },
  };
}

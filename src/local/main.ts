import { ConfigError, loadConfig, loadTelemetrySettings } from "../config.js";
import { startTelemetry } from "../telemetry/start.js";
import { registrations } from "../functions/registrations.js";
import { createLogger } from "../log.js";
import { createRuntime } from "../runtime.js";
import { devStateFile } from "../wire/dev-stack-state.js";
import { devBanner, startDevStack } from "./dev-stack.js";
import { startLocalHost } from "./host.js";

/**
 * `npm start`. Without KEY_VAULT_URL: the dev stack (emulators + sample data). With it: the
 * local host against Azure, with whatever credential DefaultAzureCredential finds (az login).
 */
async function main(): Promise<void> {
  const log = createLogger();
  // Before any runtime exists: its instruments come from the provider registered here.
  const telemetry = await startTelemetry(loadTelemetrySettings(process.env), log);
  let close: () => Promise<void>;
  if (process.env["KEY_VAULT_URL"] === undefined || process.env["KEY_VAULT_URL"] === "") {
    // The state file tells `token-broker dev-token` where this stack is; removed at close.
    const stack = await startDevStack({ log, stateFile: devStateFile(process.env) });
    close = stack.close;
    process.stdout.write((await devBanner(stack)) + "\n");
    log.info("dev.ready", {
      broker: stack.brokerUrl,
      entra: stack.entra.url,
      tokenEndpoint: stack.entra.tokenEndpoint,
      keyVault: stack.keyVault.url,
      devops: stack.devops.url,
      graph: stack.graph.url,
      identityEndpoint: stack.managedIdentity.endpoint,
      caFile: stack.caFile,
    });
  } else {
    const config = loadConfig(process.env);
    const host = await startLocalHost({
      runtime: createRuntime(config, { log }),
      registrations,
      port: config.port,
    });
    close = host.close;
    log.info("host.ready", { broker: host.url });
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130); // a second Ctrl-C does not wait
    stopping = true;
    log.info("host.stopping", { signal });
    // What the meters hold is exported before the process ends.
    Promise.all([close(), telemetry.shutdown()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  // Config errors name the setting, never its value; anything else by name only.
  const code = (error as NodeJS.ErrnoException).code;
  const message =
    error instanceof ConfigError
      ? error.message
      : code === "EADDRINUSE"
        ? `PORT ${process.env["PORT"] ?? "7071"} is already in use; set PORT to a free port (0 picks one)`
        : `start failed: ${(error as Error).name}${typeof code === "string" ? ` (${code})` : ""}`;
  process.stderr.write(`token-broker: ${message}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// `token-broker …`: the ops CLI (see README, "Ops CLI"). The shebang survives tsc.
import { run } from "./commands.js";

// `token-broker inventory list | head`: a reader that went away is not our failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

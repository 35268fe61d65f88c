#!/usr/bin/env node
// `git-credential-token-broker`: the git credential helper (see README, "git"). git runs it as
// `git credential-token-broker --profile NAME get` for `credential.<url>.helper "token-broker --profile NAME"`.
import { runGitCredential } from "./git-credential.js";

process.exitCode = await runGitCredential(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
// The helper stops reading at git's blank line; an open stdin (a terminal) must not keep it alive.
process.stdin.destroy();

#!/bin/sh
# azd prepackage hook: the broker refuses to start without a valid policy, so refuse to package
# one that is missing or invalid. Validation is the broker's own loader, not a copy of its rules.
set -eu
cd "$(dirname "$0")/../.."

# The path the app reads (BROKER_POLICY_FILE, infra/main.bicep's brokerPolicyFile default).
policy="policy/policy.json"
if [ ! -f "$policy" ]; then
  echo "token-broker: $policy is missing. Copy policy/policy.sample.json to $policy and edit it (docs/deploy.md)." >&2
  exit 1
fi

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
node --input-type=module -e '
  const { loadPolicyFile } = await import("./dist/src/policy/load.js");
  try {
    loadPolicyFile(process.argv[1]);
  } catch (error) {
    console.error("token-broker: " + error.message);
    process.exit(1);
  }
  console.log("token-broker: " + process.argv[1] + " is valid");
' "$policy"

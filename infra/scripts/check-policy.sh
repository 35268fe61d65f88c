#!/bin/sh
# azd prepackage hook: the broker refuses to start without a valid policy, so refuse to package
# one that is missing or invalid. Validation is the broker's own check, not a copy of its rules.
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
# The broker's own check (src/policy/check.ts, as `token-broker policy check`) with the identities
# the app runs with: azd env values once provisioned. Before the first provision there are none
# yet, and main.bicep always gives the app a minting identity of its own: a stand-in id (no real
# identity's) takes its place. policy/expect.json, if there is one, must hold too.
set -- policy check "$policy" --minting-client-id "${BROKER_MINTING_CLIENT_ID:-00000000-0000-4000-8000-000000000000}"
[ -z "${BROKER_IDENTITY_CLIENT_ID:-}" ] || set -- "$@" --control-client-id "$BROKER_IDENTITY_CLIENT_ID"
[ ! -f policy/expect.json ] || set -- "$@" --expect policy/expect.json
# This shell's AZURE_CLIENT_ID (a deployment principal, say) is not the app's control identity.
AZURE_CLIENT_ID= node dist/src/cli/main.js "$@"

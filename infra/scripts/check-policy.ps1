# azd prepackage hook on Windows (PowerShell 7, pwsh): the same check as check-policy.sh. The
# broker refuses to start without a valid policy, so refuse to package one that is missing or
# invalid. Validation is the broker's own check, not a copy of its rules.
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '../..')

# The path the app reads (BROKER_POLICY_FILE, infra/main.bicep's brokerPolicyFile default).
$policy = 'policy/policy.json'
if (-not (Test-Path -PathType Leaf $policy)) {
  [Console]::Error.WriteLine("token-broker: $policy is missing. Copy policy/policy.sample.json to $policy and edit it (docs/deploy.md).")
  exit 1
}

if (-not (Test-Path -PathType Container 'node_modules')) {
  & npm ci --no-audit --no-fund
  if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
& npm run build --silent
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

# The broker's own check (src/policy/check.ts, as `token-broker policy check`) with the identities
# the app runs with: azd env values once provisioned. Before the first provision there are none
# yet, and main.bicep always gives the app a minting identity of its own: a stand-in id (no real
# identity's) takes its place. policy/expect.json, if there is one, must hold too.
$minting = if ($env:BROKER_MINTING_CLIENT_ID) { $env:BROKER_MINTING_CLIENT_ID } else { '00000000-0000-4000-8000-000000000000' }
$arguments = @('dist/src/cli/main.js', 'policy', 'check', $policy, '--minting-client-id', $minting)
if ($env:BROKER_IDENTITY_CLIENT_ID) { $arguments += @('--control-client-id', $env:BROKER_IDENTITY_CLIENT_ID) }
if (Test-Path -PathType Leaf 'policy/expect.json') { $arguments += @('--expect', 'policy/expect.json') }
# This shell's AZURE_CLIENT_ID (a deployment principal, say) is not the app's control identity.
Remove-Item -Path Env:AZURE_CLIENT_ID -ErrorAction SilentlyContinue
& node @arguments
exit $LASTEXITCODE

# azd prepackage hook on Windows (PowerShell 7, pwsh): the same check as check-policy.sh. The
# broker refuses to start without a valid policy, so refuse to package one that is missing or
# invalid. Validation is the broker's own loader, not a copy of its rules.
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

# No double quotes in the script: older pwsh versions pass them to native commands unescaped.
$check = @'
const { loadPolicyFile } = await import('./dist/src/policy/load.js');
try {
  loadPolicyFile(process.argv[1]);
} catch (error) {
  console.error('token-broker: ' + error.message);
  process.exit(1);
}
console.log('token-broker: ' + process.argv[1] + ' is valid');
'@
& node --input-type=module -e $check $policy
exit $LASTEXITCODE

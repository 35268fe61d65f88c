# The broker's Entra app registration, for azd on Windows (PowerShell 7, pwsh): the same steps,
# ids and rules as app-registration.sh (read that file's header); the tests hold the two to the
# same ids. azure.yaml runs this one on Windows and the sh one elsewhere.
#
# Run by hand: $env:AZURE_ENV_NAME = 'dev'; pwsh ./infra/scripts/app-registration.ps1
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Fixed ids: Entra refuses to change the id of an existing role or scope, so every run sends the same.
$scopeId = '6b0f76e1-7aab-44ad-8203-7480ee64eef4'   # user_impersonation
$azureCli = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'  # Azure CLI (Microsoft's first-party client id)
$tries = 12
$waitSeconds = if ($env:BROKER_GRAPH_RETRY_SECONDS) { [int]$env:BROKER_GRAPH_RETRY_SECONDS } else { 5 }

function Say([string]$message) { Write-Host "token-broker: $message" }
function Fail([string]$message) { [Console]::Error.WriteLine("token-broker: $message"); exit 1 }

# Runs az with these arguments, each passed as is; returns its output, or throws when az fails
# (native commands do not throw by themselves).
function Invoke-Az([string[]]$Arguments) {
  $output = & az @Arguments
  if ($LASTEXITCODE -ne 0) { throw "az $($Arguments[0..2] -join ' ') failed ($LASTEXITCODE)" }
  return $output
}

# Runs az where failing is an answer (not found yet): its output, or $null. Stderr is dropped with
# the preference relaxed here, since older pwsh turns redirected native stderr into errors.
function Get-AzOrNull([string[]]$Arguments) {
  $ErrorActionPreference = 'Continue'
  $output = & az @Arguments 2>$null
  if ($LASTEXITCODE -ne 0) { return $null }
  return $output
}

if ($env:BROKER_SKIP_APP_REGISTRATION -eq 'true') {
  Say 'app registration skipped (BROKER_SKIP_APP_REGISTRATION=true)'
  exit 0
}
if ($env:BROKER_AUDIENCE -and -not $env:BROKER_APP_ID) {
  Say 'BROKER_AUDIENCE is set and no BROKER_APP_ID: the app registration is managed elsewhere'
  exit 0
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail 'the Azure CLI (az) is needed to make the app registration' }
if (-not $env:AZURE_ENV_NAME) { Fail 'set AZURE_ENV_NAME (azd does)' }

$displayName = if ($env:BROKER_APP_DISPLAY_NAME) { $env:BROKER_APP_DISPLAY_NAME } else { "token-broker-$($env:AZURE_ENV_NAME)" }
$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("token-broker-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  $appId = $env:BROKER_APP_ID
  if (-not $appId) {
    # Exact match: `az ad app list --display-name` is startswith(). OData doubles a quote.
    $odataName = $displayName -replace "'", "''"
    $found = @(Invoke-Az @('ad', 'app', 'list', '--filter', "displayName eq '$odataName'", '--query', '[].appId', '-o', 'tsv') | Where-Object { $_ })
    if ($found.Count -gt 1) {
      Fail "$($found.Count) app registrations are named '$displayName'; set BROKER_APP_ID to the one to use (azd env set BROKER_APP_ID <appId>)"
    }
    if ($found.Count -eq 1) { $appId = $found[0].Trim() }
  }

  if (-not $appId) {
    Say "creating app registration $displayName"
    $appId = (Invoke-Az @('ad', 'app', 'create', '--display-name', $displayName, '--sign-in-audience', 'AzureADMyOrg', '--query', 'appId', '-o', 'tsv')).Trim()
  } else {
    Say "updating app registration $displayName ($appId)"
  }

  # A new application takes a while to reach every Graph replica; wait for it.
  $objectId = $null
  for ($i = 1; $i -le $tries -and -not $objectId; $i++) {
    $objectId = Get-AzOrNull @('ad', 'app', 'show', '--id', $appId, '--query', 'id', '-o', 'tsv')
    if (-not $objectId) {
      $objectId = $null
      Say "waiting for app $appId to replicate in Microsoft Graph ($i/$tries)"
      Start-Sleep -Seconds $waitSeconds
    }
  }
  if (-not $objectId) { Fail "app $appId is not readable in Microsoft Graph; run azd provision again in a minute (or, if BROKER_APP_ID names a deleted app: azd env set BROKER_APP_ID '')" }
  $objectId = $objectId.Trim()

  $roles = @(
    [ordered]@{
      id = 'faac2065-5aee-4ed5-8b7c-9d3e759aa627'
      value = 'Inventory.Read'
      displayName = 'Read the credential inventory'
      description = 'List managed credentials and their metadata (never their values).'
      allowedMemberTypes = @('Application', 'User')
      isEnabled = $true
    },
    [ordered]@{
      id = '465e1d0c-f22e-4590-b588-c75fcddcfc69'
      value = 'Policy.Read'
      displayName = 'Read and explain the grant policy'
      description = 'Explain why any claims get a profile or not, grant by grant (POST /api/policy/explain).'
      allowedMemberTypes = @('Application', 'User')
      isEnabled = $true
    },
    [ordered]@{
      id = '10aa343d-51e1-4045-8e51-9967150969aa'
      value = 'Secrets.Admin'
      displayName = 'Administer managed credentials'
      description = 'Import, update, rotate and revoke managed credentials; run the sweeps.'
      allowedMemberTypes = @('Application', 'User')
      isEnabled = $true
    }
  )
  $rolesFile = Join-Path $tmp 'roles.json'
  ConvertTo-Json -InputObject $roles -Depth 5 | Set-Content -Path $rolesFile -Encoding utf8NoBOM
  Invoke-Az @('ad', 'app', 'update', '--id', $appId, '--identifier-uris', "api://$appId", '--app-roles', "@$rolesFile") | Out-Null

  # A scope made by hand (portal "Expose an API") keeps its id: Entra cannot change it.
  $existing = Invoke-Az @('ad', 'app', 'show', '--id', $appId, '--query', 'api.oauth2PermissionScopes', '-o', 'json') | Out-String | ConvertFrom-Json
  $handMade = @($existing | Where-Object { $_.value -eq 'user_impersonation' })
  if ($handMade.Count -gt 0) { $scopeId = $handMade[0].id }

  $scope = [ordered]@{
    id = $scopeId
    value = 'user_impersonation'
    type = 'User'
    isEnabled = $true
    adminConsentDisplayName = 'Access the token broker'
    adminConsentDescription = "Call the token broker as the signed-in user. What the user may do is decided by their app roles and the broker's policy."
    userConsentDisplayName = 'Access the token broker'
    userConsentDescription = 'Call the token broker as you.'
  }
  # Two requests: Graph refuses a pre-authorization naming a scope the app does not have yet.
  $scopesFile = Join-Path $tmp 'api-scopes.json'
  $preAuthorizedFile = Join-Path $tmp 'api-preauthorized.json'
  ConvertTo-Json -Depth 10 -InputObject @{ api = @{ oauth2PermissionScopes = @($scope) } } |
    Set-Content -Path $scopesFile -Encoding utf8NoBOM
  ConvertTo-Json -Depth 10 -InputObject @{
    api = @{
      oauth2PermissionScopes = @($scope)
      preAuthorizedApplications = @(@{ appId = $azureCli; delegatedPermissionIds = @($scopeId) })
    }
  } | Set-Content -Path $preAuthorizedFile -Encoding utf8NoBOM

  $graph = (Invoke-Az @('cloud', 'show', '--query', 'endpoints.microsoftGraphResourceId', '-o', 'tsv')).Trim().TrimEnd('/')
  foreach ($body in @($scopesFile, $preAuthorizedFile)) {
    Invoke-Az @('rest', '--method', 'PATCH', '--uri', "$graph/v1.0/applications/$objectId", '--headers', 'Content-Type=application/json', '--body', "@$body") | Out-Null
  }

  # The service principal is what callers get tokens for and what app roles are assigned on.
  for ($i = 1; ; $i++) {
    if ($null -ne (Get-AzOrNull @('ad', 'sp', 'show', '--id', $appId))) { break }
    if ($null -ne (Get-AzOrNull @('ad', 'sp', 'create', '--id', $appId))) { break }
    if ($i -ge $tries) { Fail "could not create the service principal of $appId" }
    Say "waiting to create the service principal of $appId ($i/$tries)"
    Start-Sleep -Seconds $waitSeconds
  }

  # v1 tokens carry aud = the App ID URI, v2 tokens the client id: accept both.
  $audience = "api://$appId,$appId"
  if (Get-Command azd -ErrorAction SilentlyContinue) {
    & azd env set BROKER_APP_ID $appId
    if ($LASTEXITCODE -ne 0) { Fail 'azd env set BROKER_APP_ID failed' }
    & azd env set BROKER_AUDIENCE $audience
    if ($LASTEXITCODE -ne 0) { Fail 'azd env set BROKER_AUDIENCE failed' }
  }
  Say "app registration ready: BROKER_APP_ID=$appId BROKER_AUDIENCE=$audience"
  Say "assign people and services the app roles (docs/deploy.md, 'Admin consent: who holds the app roles')"
} finally {
  Remove-Item -Recurse -Force -Path $tmp -ErrorAction SilentlyContinue
}

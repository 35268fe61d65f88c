#!/bin/sh
# The broker's Entra app registration: the audience callers ask tokens for, the app roles
# Inventory.Read, Policy.Read and Secrets.Admin, and the delegated scope user_impersonation with
# the Azure CLI pre-authorized, so people get tokens with
# `az account get-access-token --resource api://<appId>` (and the CLI's credential in
# DefaultAzureCredential) without a consent prompt (AADSTS65001).
#
# Idempotent: it finds the app by BROKER_APP_ID, or by its exact display name (refusing when more
# than one app has it), creates it only when absent, and sends the same roles and scope (fixed
# ids) and App ID URI each run. The hook owns "Expose an API" of this app: scopes and
# pre-authorized applications are set to exactly these.
#
# Run by azd as the preprovision hook (azure.yaml; infra/scripts/app-registration.ps1 is the same
# for Windows), or by hand: AZURE_ENV_NAME=dev sh infra/scripts/app-registration.sh
# Needs `az login` as someone allowed to register applications (e.g. Application Developer).
# A script rather than the Microsoft Graph Bicep extension: the Bicep grammar the tests parse
# with does not know `extension`, and every .bicep file here is checked by those tests.
#
# Environment:
#   AZURE_ENV_NAME                 names the app token-broker-<env> (unless BROKER_APP_DISPLAY_NAME)
#   BROKER_APP_ID                  update this app instead of looking it up by name
#   BROKER_AUDIENCE                set without BROKER_APP_ID: someone else owns the registration; skip
#   BROKER_SKIP_APP_REGISTRATION   "true": skip
#   BROKER_GRAPH_RETRY_SECONDS     wait between tries while a new app replicates (default 5)
set -eu

# Fixed ids: Entra refuses to change the id of an existing role or scope, so every run sends the same.
scope_id="6b0f76e1-7aab-44ad-8203-7480ee64eef4"   # user_impersonation
azure_cli="04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # Azure CLI (Microsoft's first-party client id)
tries=12
wait_seconds="${BROKER_GRAPH_RETRY_SECONDS:-5}"

say() { echo "token-broker: $*"; }
fail() {
  echo "token-broker: $*" >&2
  exit 1
}

if [ "${BROKER_SKIP_APP_REGISTRATION:-}" = "true" ]; then
  say "app registration skipped (BROKER_SKIP_APP_REGISTRATION=true)"
  exit 0
fi
if [ -n "${BROKER_AUDIENCE:-}" ] && [ -z "${BROKER_APP_ID:-}" ]; then
  say "BROKER_AUDIENCE is set and no BROKER_APP_ID: the app registration is managed elsewhere"
  exit 0
fi
command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is needed to make the app registration"

env_name="${AZURE_ENV_NAME:?set AZURE_ENV_NAME (azd does)}"
display_name="${BROKER_APP_DISPLAY_NAME:-token-broker-$env_name}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

app_id="${BROKER_APP_ID:-}"
if [ -z "$app_id" ]; then
  # Exact match: `az ad app list --display-name` is startswith(), which would also find
  # token-broker-dev2 for dev. OData quotes double inside a literal.
  odata_name=$(printf '%s' "$display_name" | sed "s/'/''/g")
  az ad app list --filter "displayName eq '$odata_name'" --query "[].appId" -o tsv >"$tmp/found"
  count=$(grep -c . "$tmp/found" || true)
  if [ "$count" -gt 1 ]; then
    fail "$count app registrations are named '$display_name'; set BROKER_APP_ID to the one to use (azd env set BROKER_APP_ID <appId>)"
  fi
  app_id=$(head -n 1 "$tmp/found" | tr -d '\r')
fi

if [ -z "$app_id" ]; then
  say "creating app registration $display_name"
  app_id=$(az ad app create --display-name "$display_name" --sign-in-audience AzureADMyOrg \
    --query appId -o tsv | tr -d '\r')
  [ -n "$app_id" ] || fail "az ad app create returned no appId"
else
  say "updating app registration $display_name ($app_id)"
fi

# A new application takes a while to reach every Graph replica: until it does, reads by appId
# answer 404. Wait for it rather than failing the first `azd up`.
object_id=""
i=0
while [ "$i" -lt "$tries" ]; do
  if object_id=$(az ad app show --id "$app_id" --query id -o tsv 2>/dev/null | tr -d '\r') && [ -n "$object_id" ]; then
    break
  fi
  object_id=""
  i=$((i + 1))
  say "waiting for app $app_id to replicate in Microsoft Graph ($i/$tries)"
  sleep "$wait_seconds"
done
[ -n "$object_id" ] || fail "app $app_id is not readable in Microsoft Graph; run azd provision again in a minute (or, if BROKER_APP_ID names a deleted app: azd env set BROKER_APP_ID '')"

# Application: services and automation; User: people (ops, admins).
cat >"$tmp/roles.json" <<'JSON'
[
  {
    "id": "faac2065-5aee-4ed5-8b7c-9d3e759aa627",
    "value": "Inventory.Read",
    "displayName": "Read the credential inventory",
    "description": "List managed credentials and their metadata (never their values).",
    "allowedMemberTypes": ["Application", "User"],
    "isEnabled": true
  },
  {
    "id": "465e1d0c-f22e-4590-b588-c75fcddcfc69",
    "value": "Policy.Read",
    "displayName": "Read and explain the grant policy",
    "description": "Explain why any claims get a profile or not, grant by grant (POST /api/policy/explain).",
    "allowedMemberTypes": ["Application", "User"],
    "isEnabled": true
  },
  {
    "id": "10aa343d-51e1-4045-8e51-9967150969aa",
    "value": "Secrets.Admin",
    "displayName": "Administer managed credentials",
    "description": "Import, update, rotate and revoke managed credentials; run the sweeps.",
    "allowedMemberTypes": ["Application", "User"],
    "isEnabled": true
  }
]
JSON

# api://<appId> is accepted by every tenant policy on App ID URIs; no verified domain needed.
az ad app update --id "$app_id" --identifier-uris "api://$app_id" --app-roles "@$tmp/roles.json"

# A scope made by hand (portal "Expose an API") keeps its id: Entra cannot change it.
existing_scope=$(az ad app show --id "$app_id" \
  --query "api.oauth2PermissionScopes[?value=='user_impersonation'].id | [0]" -o tsv | tr -d '\r')
[ -z "$existing_scope" ] || scope_id="$existing_scope"

cat >"$tmp/scope.json" <<JSON
{
  "id": "$scope_id",
  "value": "user_impersonation",
  "type": "User",
  "isEnabled": true,
  "adminConsentDisplayName": "Access the token broker",
  "adminConsentDescription": "Call the token broker as the signed-in user. What the user may do is decided by their app roles and the broker's policy.",
  "userConsentDisplayName": "Access the token broker",
  "userConsentDescription": "Call the token broker as you."
}
JSON
# Two requests: Graph refuses a pre-authorization naming a scope the app does not have yet.
{
  printf '{"api":{"oauth2PermissionScopes":['
  cat "$tmp/scope.json"
  printf ']}}\n'
} >"$tmp/api-scopes.json"
{
  printf '{"api":{"oauth2PermissionScopes":['
  cat "$tmp/scope.json"
  printf '],"preAuthorizedApplications":[{"appId":"%s","delegatedPermissionIds":["%s"]}]}}\n' "$azure_cli" "$scope_id"
} >"$tmp/api-preauthorized.json"

graph=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv | tr -d '\r')
graph="${graph%/}"
az rest --method PATCH --uri "$graph/v1.0/applications/$object_id" \
  --headers "Content-Type=application/json" --body "@$tmp/api-scopes.json" >/dev/null
az rest --method PATCH --uri "$graph/v1.0/applications/$object_id" \
  --headers "Content-Type=application/json" --body "@$tmp/api-preauthorized.json" >/dev/null

# The service principal is what callers get tokens for and what app roles are assigned on.
# Creating it right after the app can also meet a replica that does not know the app yet.
i=0
until az ad sp show --id "$app_id" >/dev/null 2>&1 || az ad sp create --id "$app_id" >/dev/null; do
  i=$((i + 1))
  [ "$i" -lt "$tries" ] || fail "could not create the service principal of $app_id"
  say "waiting to create the service principal of $app_id ($i/$tries)"
  sleep "$wait_seconds"
done

# v1 tokens carry aud = the App ID URI, v2 tokens the client id: accept both.
audience="api://$app_id,$app_id"
if command -v azd >/dev/null 2>&1; then
  azd env set BROKER_APP_ID "$app_id"
  azd env set BROKER_AUDIENCE "$audience"
fi
say "app registration ready: BROKER_APP_ID=$app_id BROKER_AUDIENCE=$audience"
say "assign people and services the app roles (docs/deploy.md, 'Admin consent: who holds the app roles')"

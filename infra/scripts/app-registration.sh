#!/bin/sh
# The broker's Entra app registration: the audience callers ask tokens for, and the app roles
# Inventory.Read and Secrets.Admin. Idempotent: it finds the app by BROKER_APP_ID or by display
# name, creates it only when absent, and sets the same roles (fixed ids) and App ID URI each run.
#
# Run by azd as the preprovision hook (azure.yaml), or by hand: AZURE_ENV_NAME=dev sh app-registration.sh
# Needs `az login` as someone allowed to register applications (e.g. Application Developer).
# A script rather than the Microsoft Graph Bicep extension: the Bicep grammar the tests parse
# with does not know `extension`, and every .bicep file here is checked by those tests.
#
# Environment:
#   AZURE_ENV_NAME                 names the app token-broker-<env> (unless BROKER_APP_DISPLAY_NAME)
#   BROKER_APP_ID                  update this app instead of looking it up by name
#   BROKER_AUDIENCE                set without BROKER_APP_ID: someone else owns the registration; skip
#   BROKER_SKIP_APP_REGISTRATION   "true": skip
set -eu

if [ "${BROKER_SKIP_APP_REGISTRATION:-}" = "true" ]; then
  echo "token-broker: app registration skipped (BROKER_SKIP_APP_REGISTRATION=true)"
  exit 0
fi
if [ -n "${BROKER_AUDIENCE:-}" ] && [ -z "${BROKER_APP_ID:-}" ]; then
  echo "token-broker: BROKER_AUDIENCE is set and no BROKER_APP_ID: the app registration is managed elsewhere"
  exit 0
fi
command -v az >/dev/null 2>&1 || {
  echo "token-broker: the Azure CLI (az) is needed to make the app registration" >&2
  exit 1
}

env_name="${AZURE_ENV_NAME:?set AZURE_ENV_NAME (azd does)}"
display_name="${BROKER_APP_DISPLAY_NAME:-token-broker-$env_name}"

app_id="${BROKER_APP_ID:-}"
if [ -z "$app_id" ]; then
  app_id=$(az ad app list --display-name "$display_name" --query "[0].appId" -o tsv)
fi
if [ -z "$app_id" ]; then
  echo "token-broker: creating app registration $display_name"
  app_id=$(az ad app create --display-name "$display_name" --sign-in-audience AzureADMyOrg \
    --query appId -o tsv)
else
  echo "token-broker: updating app registration $display_name ($app_id)"
fi

# Fixed role ids: changing the id of an existing role is refused by Entra, so every run must
# send the same ones. Application: services and automation; User: people (ops, admins).
roles_file=$(mktemp)
trap 'rm -f "$roles_file"' EXIT
cat >"$roles_file" <<'JSON'
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
az ad app update --id "$app_id" --identifier-uris "api://$app_id" --app-roles "@$roles_file"

# The service principal is what callers get tokens for and what app roles are assigned on.
if ! az ad sp show --id "$app_id" >/dev/null 2>&1; then
  az ad sp create --id "$app_id" >/dev/null
fi

# v1 tokens carry aud = the App ID URI, v2 tokens the client id: accept both.
audience="api://$app_id,$app_id"
if command -v azd >/dev/null 2>&1 && [ -n "${AZURE_ENV_NAME:-}" ]; then
  azd env set BROKER_APP_ID "$app_id"
  azd env set BROKER_AUDIENCE "$audience"
fi
echo "token-broker: app registration ready: BROKER_APP_ID=$app_id BROKER_AUDIENCE=$audience"

// Token Broker on Azure: `azd up` deploys this. One resource group holding a Function App on
// Flex Consumption (Node 22), its two user-assigned identities (control and minting), a Key Vault
// (RBAC), host storage reached by identity only, Application Insights with Entra-only ingestion,
// and, with privateNetworking, a virtual network with private endpoints for the vault and storage.
// The Entra app registration (the broker's audience and app roles) is made by
// scripts/app-registration.sh, run by azd before provisioning (see azure.yaml and docs/deploy.md).
targetScope = 'subscription'

@description('azd environment name; part of every resource name and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of all resources (one that offers Flex Consumption).')
@minLength(1)
param location string

@description('Entra tenant whose tokens the broker accepts (BROKER_TENANT_ID). Defaults to this subscription\'s tenant.')
param brokerTenantId string = subscription().tenantId

@description('Accepted audiences, comma-separated (BROKER_AUDIENCE): the app registration\'s App ID URI and client id.')
@minLength(1)
param brokerAudience string

@description('Extra OIDC issuers the broker trusts (BROKER_TRUSTED_ISSUERS), e.g. GitHub Actions: [{issuer, jwksUri?, audiences?}].')
param brokerTrustedIssuers array = []

@description('Policy file inside the deployed package (BROKER_POLICY_FILE); copy policy/policy.sample.json to policy/policy.json.')
param brokerPolicyFile string = 'policy/policy.json'

@description('NCRONTAB (six fields, UTC) of the rotation sweep (BROKER_ROTATION_SCHEDULE).')
param rotationSchedule string = '0 0 3 * * *'

@description('NCRONTAB (six fields, UTC) of the expiry-notice sweep (BROKER_NOTICE_SCHEDULE).')
param noticeSchedule string = '0 0 8 * * *'

@description('Expiry-notice lead times in days, comma-separated, e.g. 7,1 (BROKER_NOTICE_DAYS).')
param noticeDays string = '7'

@description('Runbook page linked from expiry notices (BROKER_NOTICE_RUNBOOK_URL). Empty: none.')
param noticeRunbookUrl string = ''

@description('NCRONTAB (six fields, UTC) of the prober (BROKER_PROBE_SCHEDULE). Empty: no prober.')
param probeSchedule string = ''

@description('A profile the prober must be issued (BROKER_PROBE_ALLOW_PROFILE); grant it to the control identity.')
param probeAllowProfile string = ''

@description('A profile the prober must be denied (BROKER_PROBE_DENY_PROFILE).')
param probeDenyProfile string = ''

@description('Auto-rotation starts this many days before expiry (BROKER_ROTATE_BEFORE_DAYS); must exceed the largest noticeDays.')
@minValue(1)
@maxValue(365)
param rotateBeforeDays int = 10

@description('Minutes the old credential stays valid after a rotation (BROKER_REVOKE_GRACE_MINUTES).')
@minValue(0)
@maxValue(10080)
param revokeGraceMinutes int = 60

@description('Minutes a new client secret Entra still refuses is kept, pending verification, before it is removed (BROKER_SECRET_VERIFY_MINUTES).')
@minValue(1)
@maxValue(1440)
param verifyWindowMinutes int = 20

@description('Per-caller rate limit on POST /api/token, per instance: N/s or N/m[,burst=B], e.g. 20/s,burst=40 (BROKER_RATE_LIMIT). Empty or off: none.')
param rateLimit string = ''

@description('Per-admin rate limit on the write routes, per instance (BROKER_ADMIN_RATE_LIMIT). Empty: the same as rateLimit; off: none.')
param adminRateLimit string = ''

@description('JSON webhook for expiry notices (BROKER_NOTICE_WEBHOOK_URL). Secret-bearing: kept in Key Vault. Empty: none.')
@secure()
param noticeWebhookUrl string = ''

@description('Teams workflow URL for expiry notices (BROKER_NOTICE_TEAMS_URL). Secret-bearing: kept in Key Vault. Empty: none.')
@secure()
param noticeTeamsUrl string = ''

@description('Recover the soft-deleted Key Vault of the same name (after azd down the name stays taken for 90 days). Set for the first provision after azd down, then unset.')
param recoverKeyVault bool = false

@description('Virtual network integration for the Function App and private endpoints for the Key Vault and storage, whose public network access is then Disabled.')
param privateNetworking bool = false

@description('Most instances the Function App may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
// Must match the service name in azure.yaml: azd deploys to the app carrying this tag.
var serviceName = 'broker'
var functionAppName = '${abbrs.webSitesFunctions}broker-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}broker-${resourceToken}'
    location: location
    tags: tags
  }
}

// Callers' tokens come from this one. It is given no role here, so a token minted for a caller
// never carries the broker's own power (vault, storage, Graph); grant it only what callers need.
module mintingIdentity 'app/identity.bicep' = {
  name: 'minting-identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}broker-mint-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    identityPrincipalId: identity.outputs.principalId
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

module keyVault 'app/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    recoverSoftDeleted: recoverKeyVault
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    keyVaultId: keyVault.outputs.id
    storageAccountId: storage.outputs.id
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    mintingIdentityId: mintingIdentity.outputs.id
    mintingIdentityClientId: mintingIdentity.outputs.clientId
    virtualNetworkSubnetId: privateNetworking ? network.outputs.integrationSubnetId : ''
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    maximumInstanceCount: maximumInstanceCount
    brokerTenantId: brokerTenantId
    brokerAudience: brokerAudience
    brokerTrustedIssuers: brokerTrustedIssuers
    brokerPolicyFile: brokerPolicyFile
    rotationSchedule: rotationSchedule
    noticeSchedule: noticeSchedule
    noticeDays: noticeDays
    noticeRunbookUrl: noticeRunbookUrl
    probeSchedule: probeSchedule
    probeAllowProfile: probeAllowProfile
    probeDenyProfile: probeDenyProfile
    rotateBeforeDays: rotateBeforeDays
    revokeGraceMinutes: revokeGraceMinutes
    verifyWindowMinutes: verifyWindowMinutes
    rateLimit: rateLimit
    adminRateLimit: adminRateLimit
    noticeWebhookUrl: noticeWebhookUrl
    noticeTeamsUrl: noticeTeamsUrl
  }
}

// azd stores these in the environment (.azure/<env>/.env): names and addresses only.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output BROKER_URL string = 'https://${functionApp.outputs.defaultHostName}/api'
output BROKER_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output BROKER_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
// Grant callers' targets to this one (Azure DevOps membership, RBAC on their resources), never vault or storage roles.
output BROKER_MINTING_CLIENT_ID string = mintingIdentity.outputs.clientId
output BROKER_MINTING_PRINCIPAL_ID string = mintingIdentity.outputs.principalId

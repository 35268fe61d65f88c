// The broker itself: a Function App on Flex Consumption (Node 22) with two user-assigned
// identities: the control identity (vault, storage, telemetry, Graph) and the minting identity
// (tokens handed to callers, no role assignments here). App Service built-in authentication (Easy Auth) stays off on purpose: the broker
// validates caller tokens itself (issuers, audiences, app roles, policy grants), and also accepts
// issuers Easy Auth does not know, such as GitHub Actions OIDC. No authsettingsV2 resource here.

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the plan and the app; the app adds azd-service-name.')
param tags object

@description('Service name in azure.yaml; azd finds the app by the azd-service-name tag.')
param serviceName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of the user-assigned identity (AZURE_CLIENT_ID, storage and telemetry auth).')
param identityClientId string

@description('Resource id of the minting identity: the one `managed-identity` profiles mint as. It holds no role on anything this deployment makes.')
param mintingIdentityId string

@description('Client id of the minting identity (BROKER_MINTING_CLIENT_ID).')
param mintingIdentityClientId string

@description('Subnet (delegated to Microsoft.App/environments) for virtual network integration; empty: none.')
param virtualNetworkSubnetId string = ''

@description('Name of the host storage account (identity-based, no keys).')
param storageAccountName string

@description('Blob container for the deployment package.')
param deploymentContainerName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Name of the Key Vault the broker keeps credentials in.')
param keyVaultName string

@description('Most instances Flex Consumption may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('BROKER_TENANT_ID: the Entra tenant whose tokens are accepted.')
param brokerTenantId string

@description('BROKER_AUDIENCE: accepted aud values, comma-separated (App ID URI, client id).')
param brokerAudience string

@description('BROKER_TRUSTED_ISSUERS: extra OIDC issuers, [{issuer, jwksUri?, audiences?}].')
param brokerTrustedIssuers array

@description('BROKER_POLICY_FILE: the policy file, relative to the app root, deployed with the package.')
param brokerPolicyFile string

@description('BROKER_ROTATION_SCHEDULE: NCRONTAB (six fields, UTC) of the rotation sweep.')
param rotationSchedule string

@description('BROKER_NOTICE_SCHEDULE: NCRONTAB (six fields, UTC) of the expiry-notice sweep.')
param noticeSchedule string

@description('BROKER_NOTICE_DAYS: notice lead times in days, comma-separated.')
param noticeDays string

@description('BROKER_NOTICE_RUNBOOK_URL: runbook linked from notices; empty for none.')
param noticeRunbookUrl string

@description('BROKER_PROBE_SCHEDULE: NCRONTAB of the prober; empty for none.')
param probeSchedule string

@description('BROKER_PROBE_ALLOW_PROFILE: a profile the prober must be issued.')
param probeAllowProfile string

@description('BROKER_PROBE_DENY_PROFILE: a profile the prober must be denied.')
param probeDenyProfile string

@description('BROKER_ROTATE_BEFORE_DAYS: auto-rotation starts this many days before expiry.')
param rotateBeforeDays int

@description('BROKER_REVOKE_GRACE_MINUTES: how long the old credential stays valid after rotation.')
param revokeGraceMinutes int

@description('BROKER_SECRET_VERIFY_MINUTES: how long a new client secret Entra still refuses is kept before it is removed.')
param verifyWindowMinutes int

@description('BROKER_RATE_LIMIT: per-caller limit on POST /api/token, per instance (N/s or N/m[,burst=B]); empty: none.')
param rateLimit string

@description('BROKER_ADMIN_RATE_LIMIT: per-admin limit on the write routes, per instance; empty: the same as BROKER_RATE_LIMIT.')
param adminRateLimit string

@description('BROKER_NOTICE_WEBHOOK_URL (secret-bearing): stored in Key Vault, referenced from the app setting. Empty: none.')
@secure()
param noticeWebhookUrl string

@description('BROKER_NOTICE_TEAMS_URL (secret-bearing, the workflow URL carries a signature): stored in Key Vault, referenced from the app setting. Empty: none.')
@secure()
param noticeTeamsUrl string

// Vault secrets for settings whose values are credentials. They carry no managed-by tag, so the
// broker's inventory does not list them as managed credentials.
var noticeWebhookSecretName = 'config-notice-webhook-url'
var noticeTeamsSecretName = 'config-notice-teams-url'
// Versionless references: the app picks up a new secret version within a day, or on restart.
var noticeWebhookReference = '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${noticeWebhookSecretName})'
var noticeTeamsReference = '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${noticeTeamsSecretName})'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource noticeWebhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(noticeWebhookUrl)) {
  parent: vault
  name: noticeWebhookSecretName
  properties: {
    value: noticeWebhookUrl
    contentType: 'text/uri-list'
  }
}

resource noticeTeamsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(noticeTeamsUrl)) {
  parent: vault
  name: noticeTeamsSecretName
  properties: {
    value: noticeTeamsUrl
    contentType: 'text/uri-list'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${mintingIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references in app settings resolve with the broker identity.
    keyVaultReferenceIdentity: identityId
    // Outbound traffic through the virtual network, so the private endpoints are reachable.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // No ftpsState, linuxFxVersion or use32BitWorkerProcess: Flex Consumption refuses them (its
    // deprecation table); FTP is off through the basic publishing credentials policies below.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      // No always-ready instances: idle costs nothing; the first call after idle pays a cold start.
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Flex Consumption takes the runtime from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION are not app settings here (the platform refuses them).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    AZURE_CLIENT_ID: identityClientId
    // The identity `managed-identity` profiles mint as; never the control identity above.
    BROKER_MINTING_CLIENT_ID: mintingIdentityClientId
    AZURE_AUTHORITY_HOST: environment().authentication.loginEndpoint
    // Blank: the v1 issuer follows the authority host's cloud (public, US Government, China).
    BROKER_ENTRA_V1_ISSUER: ''
    KEY_VAULT_URL: vault.properties.vaultUri
    BROKER_TENANT_ID: brokerTenantId
    BROKER_AUDIENCE: brokerAudience
    BROKER_TRUSTED_ISSUERS: string(brokerTrustedIssuers)
    BROKER_POLICY_FILE: brokerPolicyFile
    BROKER_ROTATION_SCHEDULE: rotationSchedule
    BROKER_NOTICE_SCHEDULE: noticeSchedule
    BROKER_NOTICE_DAYS: noticeDays
    BROKER_NOTICE_RUNBOOK_URL: noticeRunbookUrl
    // The prober asks the app's own host name (WEBSITE_HOSTNAME), signed in as the control identity.
    BROKER_PROBE_SCHEDULE: probeSchedule
    BROKER_PROBE_ALLOW_PROFILE: probeAllowProfile
    BROKER_PROBE_DENY_PROFILE: probeDenyProfile
    BROKER_PROBE_URL: ''
    BROKER_PROBE_CLIENT_ID: ''
    // Public-cloud endpoints of the upstreams the broker rotates and revokes with.
    BROKER_DEVOPS_URL: 'https://dev.azure.com'
    BROKER_DEVOPS_VSSPS_URL: 'https://vssps.dev.azure.com'
    BROKER_GRAPH_URL: environment().graph
    // The sweeps' leases live on the host storage account, reached with the identity.
    BROKER_LEASE_STORAGE_URL: storage.properties.primaryEndpoints.blob
    BROKER_ROTATE_BEFORE_DAYS: string(rotateBeforeDays)
    BROKER_REVOKE_GRACE_MINUTES: string(revokeGraceMinutes)
    BROKER_SECRET_VERIFY_MINUTES: string(verifyWindowMinutes)
    // Blank counts as unset: no limit (the admin one then follows BROKER_RATE_LIMIT).
    BROKER_RATE_LIMIT: rateLimit
    BROKER_ADMIN_RATE_LIMIT: adminRateLimit
    // Blank counts as unset for the broker (log-only notices).
    BROKER_NOTICE_WEBHOOK_URL: empty(noticeWebhookUrl) ? '' : noticeWebhookReference
    BROKER_NOTICE_TEAMS_URL: empty(noticeTeamsUrl) ? '' : noticeTeamsReference
  }
  dependsOn: [
    noticeWebhookSecret
    noticeTeamsSecret
  ]
}

// Deployments authenticate with Entra (azd, az); no FTP or SCM basic-auth passwords exist.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName

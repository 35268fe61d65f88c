// The store of record for managed credentials (DESIGN §4). Access is Azure RBAC only, so who may
// read or write secrets is visible in one place (IAM) and never in an access policy list.

@description('Name of the Key Vault (3-24 characters).')
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Principal id of the broker identity, given Key Vault Secrets Officer.')
param identityPrincipalId string

@description('Days a deleted secret or vault can be recovered (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Recover the soft-deleted vault of this name instead of creating one (after azd down: the name stays taken for softDeleteRetentionInDays).')
param recoverSoftDeleted bool = false

@description('Enabled, or Disabled when the vault is reached only through its private endpoint (privateNetworking).')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

// Built-in role: Key Vault Secrets Officer. The broker writes rotated versions and imports
// credentials, so Secrets User (read only) is not enough.
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // 'recover' brings back the soft-deleted vault with its secrets, versions and tags; purge
    // protection stays on either way. 'default' fails with ConflictError while a deleted vault
    // holds the name, so a second `azd up` after `azd down` needs recoverSoftDeleted = true.
    createMode: recoverSoftDeleted ? 'recover' : 'default'
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Once on it cannot be turned off: a deleted secret stays recoverable for the whole retention.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // Without privateNetworking, Flex Consumption has no fixed outbound addresses, so the vault
    // stays reachable publicly and every request needs an Entra token with an RBAC role. With it,
    // only the private endpoint reaches the vault.
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, identityPrincipalId, keyVaultSecretsOfficer)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri

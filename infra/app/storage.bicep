// Host storage (timer locks and schedule status, host keys) and the Flex Consumption deployment
// package container. Reached by the broker identity only: shared keys are off, so no connection
// string or account key exists to leak.

@description('Name of the storage account (3-24 lowercase letters and digits).')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('Blob container that holds the deployment package of the Function App.')
param deploymentContainerName string

@description('Principal id of the broker identity, given data-plane roles on the account.')
param identityPrincipalId string

@description('Enabled, or Disabled when the account is reached only through private endpoints (privateNetworking).')
@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

// Built-in roles the Functions host needs with identity-based AzureWebJobsStorage, and no more:
// blobs for locks, timer status, keys, the package and the broker's leases; tables for the host's
// diagnostic events. No queue role: the broker has no queue or blob trigger, so nothing reads a queue.
// Ids are checked against test/support/infra-posture-roles.ts (Azure's built-in role table).
var storageRoles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    // Private: only the private endpoints (and Azure's trusted services, still with an Entra token
    // and a role, since shared keys are off) reach it.
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
    accessTier: 'Hot'
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource identityRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    scope: storage
    name: guid(storage.id, identityPrincipalId, role)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob

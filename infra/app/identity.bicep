// A user-assigned managed identity of the broker. main.bicep makes two: the control identity
// (vault, host storage, telemetry, Graph, leases) and the minting identity (the Entra tokens of
// `managed-identity` profiles; no role assignments). User-assigned, so role assignments exist
// before the app starts and survive re-creating the app.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId

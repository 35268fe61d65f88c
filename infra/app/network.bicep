// Private networking (main.bicep's privateNetworking): the Function App's outbound traffic goes
// through a virtual network, and the Key Vault and host storage are reached only through private
// endpoints there (their public network access is Disabled). Private DNS zones linked to the
// network make the usual host names (<vault>.vault.azure.net, <account>.blob.core.windows.net)
// resolve to the private addresses, so no app setting changes. Public-cloud zone names.

@description('Name of the virtual network; the private endpoints are named after it.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object

@description('Resource id of the Key Vault to reach privately.')
param keyVaultId string

@description('Resource id of the host storage account to reach privately.')
param storageAccountId string

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('Subnet for the Function App (delegated to Microsoft.App/environments, as Flex Consumption requires).')
param integrationSubnetPrefix string = '10.40.0.0/24'

@description('Subnet for the private endpoints.')
param privateEndpointSubnetPrefix string = '10.40.1.0/24'

var integrationSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: integrationSubnetName
        properties: {
          addressPrefix: integrationSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

var privateEndpointSubnetId = '${vnet.id}/subnets/${privateEndpointSubnetName}'

module vaultEndpoint 'private-endpoint.bicep' = {
  name: 'pe-vault'
  params: {
    name: '${name}-vault'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    virtualNetworkId: vnet.id
    targetId: keyVaultId
    groupId: 'vault'
    zoneName: 'privatelink.vaultcore.azure.net'
  }
}

// The host and the broker's leases use blobs; the host's diagnostic events use tables. No queue
// endpoint: nothing here uses queues (and no queue role is granted).
module blobEndpoint 'private-endpoint.bicep' = {
  name: 'pe-blob'
  params: {
    name: '${name}-blob'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    virtualNetworkId: vnet.id
    targetId: storageAccountId
    groupId: 'blob'
    zoneName: 'privatelink.blob.core.windows.net'
  }
}

module tableEndpoint 'private-endpoint.bicep' = {
  name: 'pe-table'
  params: {
    name: '${name}-table'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    virtualNetworkId: vnet.id
    targetId: storageAccountId
    groupId: 'table'
    zoneName: 'privatelink.table.core.windows.net'
  }
}

output integrationSubnetId string = '${vnet.id}/subnets/${integrationSubnetName}'

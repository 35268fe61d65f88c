// One private endpoint with its private DNS zone, the zone's link to the virtual network, and
// the zone group that registers the endpoint's address in the zone.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the endpoint (private DNS zones are global).')
param location string

@description('Tags for the resources.')
param tags object

@description('Subnet the endpoint takes its address from.')
param subnetId string

@description('Virtual network the DNS zone is linked to.')
param virtualNetworkId string

@description('Resource id of the resource reached privately.')
param targetId string

@description('Private link sub-resource: vault, blob, table, …')
param groupId string

@description('Private DNS zone of that sub-resource, e.g. privatelink.vaultcore.azure.net.')
param zoneName string

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource zoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [groupId]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: replace(zoneName, '.', '-')
        properties: {
          privateDnsZoneId: zone.id
        }
      }
    ]
  }
  dependsOn: [
    zoneLink
  ]
}

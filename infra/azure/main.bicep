// The broker's Azure side: a Flex Consumption function app (Node 24) running dist/bundle, its identities,
// storage, Key Vault (RBAC), monitoring and role assignments. Not compiled on the build machine: see infra/README.md.
targetScope = 'resourceGroup'

@description('Short lowercase name the resource names derive from (3-12 letters or digits).')
@minLength(3)
@maxLength(12)
param baseName string

@description('Azure region of every resource; the resource group\'s by default.')
param location string = resourceGroup().location

@description('BROKER_AUDIENCE: the audience callers\' tokens must carry. Choose a stable value (a custom domain or api://<name>), since every caller is configured with it.')
@minLength(1)
param brokerAudience string

@description('BROKER_POLICY_FILE: where the policy is inside the app. infra/package.mjs --policy puts it at the package root, which the host serves from /home/site/wwwroot.')
param brokerPolicyFile string = '/home/site/wwwroot/policy.json'

@description('BROKER_VAULT_TARGET: the policy target the broker signs in to Key Vault as. Empty (the default): no Key Vault access, so no publish and no TOKEN_CACHE_KEY_SECRET_URL. On Azure (this function app, the managedIdentity source) it must name an app registration target federated with the outputs brokerCredentialIssuer and brokerIdentityPrincipalId, whose service principal is in secretsOfficerPrincipalIds: a managed identity cannot be that target (AADSTS700222). Non-empty also creates the vault identity (output vaultIdentityClientId) with brokerFederatedCredentials, which serves only a broker running outside Azure (infra/README.md).')
param brokerVaultTarget string = ''

@description('Federated credentials on the vault identity, trusting the broker\'s own platform token from outside Azure: [{name, issuer, subject, audience?}] (audience: api://AzureADTokenExchange unless given; a Cognito pool id for the cognito source). At most 20. Not the managedIdentity source: a managed identity cannot trust another identity\'s Entra token (AADSTS700222); app registrations trust the output brokerIdentityPrincipalId with issuer brokerCredentialIssuer (infra/README.md).')
@maxLength(20)
param brokerFederatedCredentials array = []

@description('Turn on the shared cache tier: a second storage account (shared key on, which the tier needs) whose connection string Bicep writes to Key Vault, and TOKEN_SHARED_CACHE_CONNECTION as a Key Vault reference. Its key comes from TOKEN_CACHE_KEY_SECRET_URL, set only with a brokerVaultTarget; without one the tier stays off (no key).')
param enableSharedCache bool = true

@description('Further broker settings from the README\'s configuration table (string values), e.g. GOOGLE_JWKS_URL, SPIFFE_TRUST_DOMAINS, AWS_STS_ENDPOINTS. Never a secret: they are readable by anyone who can read the app\'s configuration.')
param brokerSettings object = {}

@description('Object ids of principals given Key Vault Secrets Officer on the vault: on Azure, the service principal of the brokerVaultTarget app registration; operators who rotate the cache key.')
param secretsOfficerPrincipalIds array = []

@description('Object id of the principal running deploy.sh (which passes it), given Key Vault Secrets Officer so it can add the first version of the cache key secret. Empty: none. Apart from secretsOfficerPrincipalIds, so passing it never replaces that list.')
param deployerPrincipalId string = ''

@description('Inbound public network access to the function app. Disabled needs private endpoints, which this template does not create.')
@allowed(['Enabled', 'Disabled'])
param functionAppPublicNetworkAccess string = 'Enabled'

@description('Public network access to Key Vault. Without VNet integration (not in this template) the app reaches the vault over its public endpoint, so Disabled breaks Key Vault references and publishing.')
@allowed(['Enabled', 'Disabled'])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Most instances the Flex Consumption plan scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Days Log Analytics keeps the broker\'s logs and audit lines.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Tags on every resource.')
param tags object = {}

var suffix = uniqueString(resourceGroup().id, baseName)
var functionAppName = 'func-${baseName}-${suffix}'
var hostStorageName = take('st${baseName}${suffix}', 24)
var cacheStorageName = take('stc${baseName}${suffix}', 24)
var vaultName = take('kv-${baseName}-${suffix}', 24)
var deploymentContainerName = 'app-package'
var cacheContainerName = 'token-broker-cache'
var cacheKeySecretName = 'token-cache-key'
var cacheConnectionSecretName = 'token-shared-cache-connection'
var useVault = !empty(brokerVaultTarget)
// The shared tier's keys come from the vault only when the broker can sign in to it and the tier is on; otherwise
// TOKEN_CACHE_KEY_SECRET_URL stays unset, so the broker's start-up does not depend on Key Vault.
var useCacheKeySecret = useVault && enableSharedCache

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry only with Entra authentication (the host identity below), never the instrumentation key alone.
    DisableLocalAuth: true
  }
}

// The function app's own identity: host storage, the deployment container, Key Vault references, telemetry.
// Not the broker's Entra identity: the broker signs in to Entra only through its federated platform token.
resource hostIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-host'
  location: location
  tags: tags
}

// The broker's own identity on Azure (the managedIdentity source, MANAGED_IDENTITY_CLIENT_ID): its Entra token for
// api://AzureADTokenExchange is the assertion app registrations of this tenant trust (issuer
// https://login.microsoftonline.com/<tenant>/v2.0, subject its principal id). No role assignment: it is only
// ever a federated credential, and it stays apart from the host identity's storage and vault access.
resource brokerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}-broker'
  location: location
  tags: tags
}

// The identity behind BROKER_VAULT_TARGET: a policy target whose federated credentials trust the broker.
resource vaultIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (useVault) {
  name: 'id-${baseName}-vault'
  location: location
  tags: tags
}

// One at a time: ARM refuses concurrent writes of federated credentials on one identity.
@batchSize(1)
resource vaultIdentityCredentials 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = [
  for credential in brokerFederatedCredentials: if (useVault) {
    parent: vaultIdentity
    name: credential.name
    properties: {
      issuer: credential.issuer
      subject: credential.subject
      audiences: [credential.?audience ?? 'api://AzureADTokenExchange']
    }
  }
]

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
  }
}

resource hostBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

// Flex Consumption's deployment container: the zip that infra/package.mjs builds lands here.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobs
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

// The shared cache tier takes only a connection string (README, Many instances), so its account needs
// shared key access; it is kept apart from the host's account, which has shared key off.
resource cacheStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = if (enableSharedCache) {
  name: cacheStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
  }
}

resource cacheBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = if (enableSharedCache) {
  parent: cacheStorage
  name: 'default'
}

resource cacheContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (enableSharedCache) {
  parent: cacheBlobs
  name: cacheContainerName
  properties: { publicAccess: 'None' }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: keyVaultPublicNetworkAccess
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// The account key goes from listKeys straight into the vault: never a parameter, an output or a file.
resource cacheConnectionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (enableSharedCache) {
  parent: vault
  name: cacheConnectionSecretName
  properties: {
    contentType: 'Azure Storage connection string (shared cache tier)'
    value: 'DefaultEndpointsProtocol=https;AccountName=${cacheStorage.name};AccountKey=${cacheStorage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

resource hostStorageOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, hostIdentity.id, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: hostIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource hostTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, hostIdentity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: hostIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The host resolves the Key Vault reference of TOKEN_SHARED_CACHE_CONNECTION: read access to that secret only.
resource hostReadsCacheConnection 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableSharedCache) {
  name: guid(vault.id, cacheConnectionSecretName, hostIdentity.id, roles.keyVaultSecretsUser)
  scope: cacheConnectionSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: hostIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// BROKER_VAULT_TARGET needs get and set on secrets: it reads the cache key and writes published tokens.
resource vaultTargetSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useVault) {
  name: guid(vault.id, 'vault-target', roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: vaultIdentity!.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in secretsOfficerPrincipalIds: {
    name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        roles.keyVaultSecretsOfficer
      )
      principalId: principalId
    }
  }
]

var addDeployer = !empty(deployerPrincipalId) && !contains(secretsOfficerPrincipalIds, deployerPrincipalId)

// Same name as the loop above would give it, and skipped when the list already holds it: ARM refuses one
// resource defined twice, and a second assignment of the same role and scope.
resource deployerSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (addDeployer) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
  }
}

// The Functions host's own settings: storage and telemetry through the host identity, no key.
var hostSettings = {
  AzureWebJobsStorage__accountName: hostStorage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: hostIdentity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${hostIdentity.properties.clientId};Authorization=AAD'
  // Options for the Node worker (infra/node-arguments.json): V8's young generation capped at 16 MiB per
  // semi-space, which keeps the 100,000-entry verified-token cache under 200 MB resident (bench/README.md).
  languageWorkers__node__arguments: join(loadJsonContent('../node-arguments.json'), ' ')
}

// The broker's settings, named as in the README's configuration table (test/unit/infra checks it).
var brokerCoreSettings = {
  BROKER_AUDIENCE: brokerAudience
  BROKER_POLICY_FILE: brokerPolicyFile
  // Read only when a policy target says "source": "managedIdentity"; the platform sets IDENTITY_ENDPOINT and
  // IDENTITY_HEADER itself.
  MANAGED_IDENTITY_CLIENT_ID: brokerIdentity.properties.clientId
}

var brokerVaultSettings = useVault
  ? {
      BROKER_VAULT_TARGET: brokerVaultTarget
    }
  : {}

var sharedCacheKeySettings = useCacheKeySecret
  ? {
      TOKEN_CACHE_KEY_SECRET_URL: '${vault.properties.vaultUri}secrets/${cacheKeySecretName}'
    }
  : {}

// Identity-based connections are not supported by the shared tier, so its connection string is a Key
// Vault reference, resolved by the host with its identity (keyVaultReferenceIdentity below).
var sharedCacheSettings = enableSharedCache
  ? {
      TOKEN_SHARED_CACHE_CONNECTION: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${cacheConnectionSecretName})'
      TOKEN_SHARED_CACHE_CONTAINER: cacheContainerName
    }
  : {}

var appSettings = union(hostSettings, brokerCoreSettings, brokerVaultSettings, sharedCacheSettings, sharedCacheKeySettings, brokerSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${baseName}-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${hostIdentity.id}': {}, '${brokerIdentity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: functionAppPublicNetworkAccess
    keyVaultReferenceIdentity: hostIdentity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(appSettings): { name: setting.key, value: string(setting.value) }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: hostIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '24'
      }
    }
  }
  dependsOn: [hostStorageOwner, hostTelemetry, hostReadsCacheConnection, deploymentContainer]
}

// Deployments go through Entra (az CLI with a token), never the basic-auth publishing profile.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

@description('The function app\'s name (deploy.sh deploys the package to it with az functionapp deployment source config-zip).')
output functionAppName string = functionApp.name

@description('The broker\'s base URL: callers POST to <this>/api/token.')
output brokerUrl string = 'https://${functionApp.properties.defaultHostName}'

@description('The tenant the vault identity lives in: the tenant of the BROKER_VAULT_TARGET policy target.')
output tenantId string = subscription().tenantId

@description('clientId of the vault identity, a BROKER_VAULT_TARGET for a broker running outside Azure (scopes: https://vault.azure.net/.default); empty without brokerVaultTarget.')
output vaultIdentityClientId string = useVault ? vaultIdentity!.properties.clientId : ''

@description('The Key Vault\'s URI: publish.vaultUrl of policy targets that publish their tokens.')
output keyVaultUri string = vault.properties.vaultUri

@description('The Key Vault\'s name (deploy.sh adds the first cache key version to it).')
output keyVaultName string = vault.name

@description('The secret whose versions hold the shared tier\'s keys (TOKEN_CACHE_KEY_SECRET_URL); empty when that setting is not set, and then deploy.sh adds no key.')
output cacheKeySecretName string = useCacheKeySecret ? cacheKeySecretName : ''

@description('The host identity\'s principal id (storage, Key Vault references, telemetry).')
output hostIdentityPrincipalId string = hostIdentity.properties.principalId

@description('MANAGED_IDENTITY_CLIENT_ID: the client id of the broker\'s own identity (the managedIdentity source).')
output brokerIdentityClientId string = brokerIdentity.properties.clientId

@description('The subject of the federated credential an app registration of this tenant needs to trust the broker on Azure: the broker identity\'s principal id.')
output brokerIdentityPrincipalId string = brokerIdentity.properties.principalId

@description('The issuer of that credential (audience api://AzureADTokenExchange).')
output brokerCredentialIssuer string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'

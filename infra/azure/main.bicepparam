// Example parameters for main.bicep: copy, fill in the placeholders, never put a secret here.
using './main.bicep'

param baseName = 'tokenbroker'

// Every caller asks its platform for a token with this audience; keep it stable.
param brokerAudience = 'https://broker.example.com'

// The policy travels in the package (node infra/package.mjs --policy policy.json).
param brokerPolicyFile = '/home/site/wwwroot/policy.json'

// The policy must hold a target of this name: tenant = the output tenantId, clientId = the output
// vaultIdentityClientId, scopes ["https://vault.azure.net/.default"], source = how the broker gets its
// own assertion (infra/README.md, "The broker's own assertion").
param brokerVaultTarget = 'broker-vault'

// Who the vault identity trusts: the broker's own platform identity, one entry per source in use.
param brokerFederatedCredentials = [
  {
    // gcpMetadata: infra/gcp/broker.sh prints the service account's unique id.
    name: 'gcp-token-broker'
    issuer: 'https://accounts.google.com'
    subject: '<broker service account unique id>'
  }
  {
    // aws with AWS_TOKEN_SOURCE=webIdentity: the account's issuer and the broker role's ARN (infra/aws).
    name: 'aws-token-broker-web-identity'
    issuer: 'https://<account issuer id>.tokens.sts.global.api.aws'
    subject: 'arn:aws:iam::<account>:role/<broker role>'
  }
]

param enableSharedCache = true

// Settings the policy's callers and sources need (names from the README's configuration table).
param brokerSettings = {
  GCP_SERVICE_ACCOUNT: 'default'
  AWS_STS_ENDPOINTS: 'https://sts.amazonaws.com,https://sts.eu-west-1.amazonaws.com'
  COGNITO_CALLER_POOL_IDS: '<region>:<identity pool guid>'
  TOKEN_REFRESH_SCHEDULE: '0 */5 * * * *'
}

// The deploying user's or pipeline's object id, so deploy.sh may add the first cache key version.
param secretsOfficerPrincipalIds = []

param functionAppPublicNetworkAccess = 'Enabled'
param keyVaultPublicNetworkAccess = 'Enabled'
param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param logRetentionDays = 90
param tags = { workload: 'entra-token-broker' }

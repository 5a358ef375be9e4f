// Example parameters for main.bicep: copy, fill in the placeholders, never put a secret here.
using './main.bicep'

param baseName = 'tokenbroker'

// Every caller asks its platform for a token with this audience; keep it stable.
param brokerAudience = 'https://broker.example.com'

// The policy travels in the package (node infra/package.mjs --policy policy.json).
param brokerPolicyFile = '/home/site/wwwroot/policy.json'

// Empty: no Key Vault access (no publish, and no key for the shared cache tier). On Azure the vault target
// must be an app registration, never a managed identity (AADSTS700222): name here a policy target for an
// app registration of this tenant, federated with the outputs brokerCredentialIssuer and
// brokerIdentityPrincipalId (infra/azure/federate-app.sh), scopes ["https://vault.azure.net/.default"],
// "source": "managedIdentity", and put its service principal's object id in secretsOfficerPrincipalIds
// (infra/README.md, "The broker's own assertion").
param brokerVaultTarget = ''

// Only for a broker running outside Azure (GCP, AWS) that uses this vault: a non-empty brokerVaultTarget also
// creates the vault identity (output vaultIdentityClientId, that target's clientId), which trusts these
// entries. Ignored while brokerVaultTarget is empty; a broker on Azure needs none.
param brokerFederatedCredentials = [
  {
    // gcpMetadata: `infra/gcp/service-accounts.sh broker <project> [name]` prints the service account's unique id.
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

// Key Vault Secrets Officer: on Azure, the vault target app registration's service principal object id;
// operators who rotate the cache key. deploy.sh grants the deploying principal separately
// (deployerPrincipalId), so this list is kept as written here.
param secretsOfficerPrincipalIds = []

param functionAppPublicNetworkAccess = 'Enabled'
param keyVaultPublicNetworkAccess = 'Enabled'
param maximumInstanceCount = 40
param instanceMemoryMB = 2048
param logRetentionDays = 90
param tags = { workload: 'entra-token-broker' }

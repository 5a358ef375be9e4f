// The sandbox's "broker on Azure": a user-assigned identity attached to the function app (uami-token-broker-host),
// the federated credential by which the demo app trusts it (managed identity as a federated identity
// credential, protocols.md §A.6), and a policy whose target gets its assertion from the app's identity endpoint.
import type { DirectorySeed } from '../entra/model.js';

export const HOST_IDENTITY = {
  subscriptionId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
  resourceGroup: 'rg-broker-demo',
  name: 'uami-token-broker-host',
  clientId: '7e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  principalId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
  /** The target a broker on Azure serves the demo caller with: the demo app, through this identity. */
  target: 'vault-reader-azure',
  /** The policy file (in the state directory) that names `target`; the sandbox's own broker does not use it. */
  policyFile: 'policy-managed-identity.json',
} as const;

export const hostIdentityResourceId = (): string =>
  `/subscriptions/${HOST_IDENTITY.subscriptionId}/resourceGroups/${HOST_IDENTITY.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${HOST_IDENTITY.name}`;

/** The credential an application names to trust the identity: Entra's v2 issuer for the tenant, its principal id. */
export const hostIdentityCredential = (tenantId: string) => ({
  name: 'azure-token-broker-host',
  issuer: `https://login.microsoftonline.com/${tenantId}/v2.0`,
  subject: HOST_IDENTITY.principalId,
  audiences: ['api://AzureADTokenExchange'],
  description: 'The token broker on Azure Functions, as its user-assigned managed identity (sandbox).',
  claimsMatchingExpression: null,
});

/**
 * Adds the host identity to the seed's first tenant and its credential to that tenant's first application
 * (the demo app) only: a managed identity cannot trust another identity's Entra token (AADSTS700222).
 */
export function withHostIdentity(seed: DirectorySeed): DirectorySeed {
  const tenant = seed.tenants[0];
  const app = tenant?.applications?.[0];
  if (!tenant || !app) throw new Error('the sandbox seed needs an application in its first tenant');
  const { target: _target, policyFile: _policyFile, ...identity } = HOST_IDENTITY;
  tenant.managedIdentities = [
    ...(tenant.managedIdentities ?? []),
    { ...identity, federatedIdentityCredentials: [] },
  ];
  app.federatedIdentityCredentials = [
    ...(app.federatedIdentityCredentials ?? []),
    hostIdentityCredential(tenant.id),
  ];
  return seed;
}

type Policy = {
  targets: Record<string, { tenant: string; clientId: string; scopes: string[] }>;
  rules: unknown[];
};

/**
 * The demo policy plus `HOST_IDENTITY.target`: `baseTarget`'s tenant and app with `source: "managedIdentity"`,
 * open to the demo caller (a Google subject), so one broker instance started with this policy serves it.
 */
export function managedIdentityPolicy(
  demoPolicy: unknown,
  baseTarget: string,
  caller: { kind: 'google'; subject: string; email: string },
): unknown {
  const policy = structuredClone(demoPolicy) as Policy;
  const base = policy.targets[baseTarget];
  if (!base) throw new Error(`the demo policy has no target ${baseTarget}`);
  policy.targets[HOST_IDENTITY.target] = {
    tenant: base.tenant,
    clientId: base.clientId,
    scopes: ['https://vault.azure.net/.default', 'https://graph.microsoft.com/.default'],
    source: 'managedIdentity',
    description: "App registration broker-demo, federated with the broker's managed identity on Azure.",
  } as Policy['targets'][string];
  policy.rules = [
    ...policy.rules,
    { name: 'demo-caller-azure', callers: [caller], targets: [HOST_IDENTITY.target] },
  ];
  return policy;
}

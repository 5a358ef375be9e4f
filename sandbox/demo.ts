// The sandbox's demo world: one Entra tenant whose app and managed identity trust the broker's GCP
// identity, a broker VM and a caller VM, and a policy admitting the demo caller (issue 4, step 8).
import { readFileSync } from 'node:fs';
import type { DirectorySeed } from './entra/model.js';

export const DEMO = {
  projectId: 'sandbox-project',
  projectNumber: 424242424242,
  broker: {
    email: 'token-broker@sandbox-project.iam.gserviceaccount.com',
    uniqueId: '100000000000000000001',
  },
  caller: { email: 'demo-caller@sandbox-project.iam.gserviceaccount.com', uniqueId: '100000000000000000002' },
  tokenExchangeAudience: 'api://AzureADTokenExchange',
  googleIssuer: 'https://accounts.google.com',
  target: 'vault-reader',
  scope: 'https://vault.azure.net/.default',
  managedIdentityTarget: 'vault-reader-mi',
  /** The Key Vault secret the refresh timer keeps the demo app's Graph token in. */
  publishedSecret: 'vault-reader-graph-token',
  publishedScope: 'https://graph.microsoft.com/.default',
  /** An app a person on the caller VM can use to manage federated credentials through Graph. */
  operator: {
    appId: '0be7a10c-5a4d-4b0c-9e11-5a4db0c0e7a1',
    objectId: '0be7a10c-5a4d-4b0c-9e11-5a4db0c0e7a2',
    displayName: 'sandbox-operator',
  },
} as const;

type TenantSeed = DirectorySeed['tenants'][number];

/** A federated credential as a seed names it. */
export type DemoCredential = {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  description: string;
};

/**
 * The default seed (sandbox/entra/seed.json) with federated credentials trusting the broker's GCP
 * identity, and `more` (the broker's AWS identities) on the demo app and managed identity.
 */
export function demoSeed(seedPath: string, more: readonly DemoCredential[] = []): DirectorySeed {
  const seed = JSON.parse(readFileSync(seedPath, 'utf8')) as DirectorySeed;
  const trustBroker = {
    name: 'gcp-token-broker',
    issuer: DEMO.googleIssuer,
    subject: DEMO.broker.uniqueId,
    audiences: [DEMO.tokenExchangeAudience],
    description: 'The token broker running on GCP as its service account (sandbox).',
    claimsMatchingExpression: null,
  };
  const tenant = seed.tenants[0] as TenantSeed;
  const trusted = [
    trustBroker,
    ...more.map((credential) => ({ ...credential, claimsMatchingExpression: null })),
  ];
  for (const app of tenant.applications ?? []) app.federatedIdentityCredentials = trusted;
  for (const identity of tenant.managedIdentities ?? []) identity.federatedIdentityCredentials = trusted;
  // The operator app trusts the demo caller's GCP identity and may manage app registrations in Graph,
  // so FICs can be changed at run time with a real Graph token from the token endpoint.
  const operatorTrust = {
    ...trustBroker,
    name: 'gcp-demo-caller',
    subject: DEMO.caller.uniqueId,
    description: 'The demo caller on its GCP VM (sandbox).',
  };
  tenant.applications = [
    ...(tenant.applications ?? []),
    {
      id: DEMO.operator.objectId,
      appId: DEMO.operator.appId,
      displayName: DEMO.operator.displayName,
      federatedIdentityCredentials: [operatorTrust],
    },
  ];
  tenant.graphPermissions = {
    ...tenant.graphPermissions,
    [DEMO.operator.appId]: ['Application.ReadWrite.All'],
  };
  return seed;
}

/** The ids the policy and the README need from the seed's first tenant. */
export function demoIds(seed: DirectorySeed): {
  tenantId: string;
  appId: string;
  managedIdentityClientId: string;
} {
  const tenant = seed.tenants[0] as TenantSeed;
  const app = tenant.applications?.[0];
  const identity = tenant.managedIdentities?.[0];
  if (!app || !identity)
    throw new Error('the sandbox seed needs one application and one managed identity in its first tenant');
  return { tenantId: tenant.id, appId: app.appId, managedIdentityClientId: identity.clientId };
}

/**
 * A policy in the broker's format admitting the demo callers (a GCP service account and an AWS role) to
 * both demo targets, whose tokens come from the broker's own identity on `source`'s platform.
 */
export function demoPolicy(
  ids: ReturnType<typeof demoIds>,
  source: 'gcpMetadata' | 'aws' | 'spiffe' = 'gcpMetadata',
  awsCallers?: { account: string; role: string; identityPool: string; identity: string },
  workloads: readonly unknown[] = [],
  publish?: { vaultUrl: string; secretName: string; scope: string },
): unknown {
  return {
    version: 1,
    targets: {
      [DEMO.target]: {
        tenant: ids.tenantId,
        clientId: ids.appId,
        scopes: [DEMO.scope, 'https://graph.microsoft.com/.default', 'https://storage.azure.com/.default'],
        source,
        ...(publish ? { publish } : {}),
        description: 'App registration broker-demo, federated with the broker service account.',
      },
      [DEMO.managedIdentityTarget]: {
        tenant: ids.tenantId,
        clientId: ids.managedIdentityClientId,
        scopes: [DEMO.scope],
        source,
        // Kept fresh by the refreshTokens timer even before any caller asks for it.
        warm: true,
        description:
          'User-assigned managed identity uami-broker-demo, federated with the broker service account.',
      },
    },
    rules: [
      {
        name: 'demo-caller',
        callers: [{ kind: 'google', subject: DEMO.caller.uniqueId, email: DEMO.caller.email }],
        targets: [DEMO.target, DEMO.managedIdentityTarget],
      },
      ...(awsCallers
        ? [
            {
              name: 'demo-aws-caller',
              callers: [
                { kind: 'aws-iam', account: awsCallers.account, role: awsCallers.role },
                { kind: 'aws-web-identity', account: awsCallers.account, role: awsCallers.role },
                { kind: 'cognito', identityPool: awsCallers.identityPool, identity: awsCallers.identity },
              ],
              targets: [DEMO.target, DEMO.managedIdentityTarget],
            },
          ]
        : []),
      ...(workloads.length > 0
        ? [{ name: 'demo-workloads', callers: workloads, targets: [DEMO.target, DEMO.managedIdentityTarget] }]
        : []),
    ],
  };
}

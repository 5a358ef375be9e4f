// Starts the whole sandbox in this process: a CA, Azurite, Google's issuer, two GCP VMs' metadata
// servers, the Entra stand-in, and the broker on the local Functions host; writes endpoints.json.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AwsEndpoints, type AwsTokenSource, startAwsSandbox } from './awsSandbox.js';
import { type CiAndClusterEndpoints, startCiAndCluster } from './ciAndClusterSandbox.js';
import { DEMO, demoIds, demoPolicy, demoSeed } from './demo.js';
import { startEntraStandIn } from './entra/server.js';
import { startGoogleIssuer } from './gcp/googleIssuer.js';
import { startGcpMetadataServer } from './gcp/metadataServer.js';
import { type LogSink, startLocalHost } from './host/localHost.js';
import { startKeyVaultStandIn } from './keyvault/server.js';
import { startAzurite } from './lib/azurite.js';
import { assertPortsFree } from './lib/ports.js';
import { createCertificateAuthority, trustCertificateAuthority } from './lib/tls.js';
import {
  HOST_IDENTITY,
  hostIdentityCredential,
  hostIdentityResourceId,
  managedIdentityPolicy,
  withHostIdentity,
} from './managedIdentity/hostIdentity.js';
import { startIdentityEndpoint } from './managedIdentity/identityEndpoint.js';
import { type SpiffeEndpoints, startSpiffe } from './spiffeSandbox.js';

export interface SandboxPorts {
  broker: number;
  entra: number;
  google: number;
  brokerVm: number;
  callerVm: number;
  sts: number;
  cognito: number;
  kubernetes: number;
  github: number;
  spireOidc: number;
  keyVault: number;
  managedIdentity: number;
  azuriteBlob: number;
  azuriteQueue: number;
  azuriteTable: number;
}

export const DEFAULT_PORTS: SandboxPorts = {
  broker: 7071,
  entra: 7443,
  google: 7444,
  brokerVm: 7080,
  callerVm: 7081,
  sts: 7445,
  cognito: 7446,
  kubernetes: 7447,
  github: 7448,
  spireOidc: 7449,
  keyVault: 7450,
  managedIdentity: 7451,
  azuriteBlob: 10000,
  azuriteQueue: 10001,
  azuriteTable: 10002,
};

const PORT_VARIABLES: Record<keyof SandboxPorts, string> = {
  broker: 'SANDBOX_BROKER_PORT',
  entra: 'SANDBOX_ENTRA_PORT',
  google: 'SANDBOX_GOOGLE_PORT',
  brokerVm: 'SANDBOX_BROKER_VM_PORT',
  callerVm: 'SANDBOX_CALLER_VM_PORT',
  sts: 'SANDBOX_STS_PORT',
  cognito: 'SANDBOX_COGNITO_PORT',
  kubernetes: 'SANDBOX_KUBERNETES_PORT',
  github: 'SANDBOX_GITHUB_PORT',
  spireOidc: 'SANDBOX_SPIRE_OIDC_PORT',
  keyVault: 'SANDBOX_KEY_VAULT_PORT',
  managedIdentity: 'SANDBOX_MANAGED_IDENTITY_PORT',
  azuriteBlob: 'SANDBOX_AZURITE_BLOB_PORT',
  azuriteQueue: 'SANDBOX_AZURITE_QUEUE_PORT',
  azuriteTable: 'SANDBOX_AZURITE_TABLE_PORT',
};

/** Ports from SANDBOX_*_PORT variables over the defaults; a bad value names its variable. */
export function portsFromEnv(env: NodeJS.ProcessEnv): SandboxPorts {
  const ports = { ...DEFAULT_PORTS };
  for (const [key, variable] of Object.entries(PORT_VARIABLES) as Array<[keyof SandboxPorts, string]>) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      throw new Error(`${variable} must be a port number (1-65535)`);
    ports[key] = port;
  }
  return ports;
}

export interface SandboxOptions {
  /** The checkout's root: the sandbox's seeds are read from it. */
  appRoot: string;
  /** The function app the broker serves (package.json with the `main` glob, host.json); appRoot unless set. */
  functionApp?: string;
  /** Where the CA, policy and endpoints.json are written (git-ignored `.sandbox/`). */
  stateDir: string;
  ports: SandboxPorts;
  /** Receives the broker's log lines; stdout unless told. */
  log?: LogSink;
  /**
   * Where the broker "runs": on GCP (its assertion from the broker VM's metadata server), or on AWS
   * with its assertion from Cognito or sts:GetWebIdentityToken. GCP unless told.
   */
  brokerOn?: { platform: 'gcp' } | { platform: 'aws'; tokenSource: AwsTokenSource } | { platform: 'spiffe' };
  /** Fire timers on their schedule (true unless told); the host's admin endpoint runs them either way. */
  timers?: boolean;
}

/** `SANDBOX_BROKER_ON` (gcp | aws) and `SANDBOX_AWS_TOKEN_SOURCE` (cognito | webIdentity); a bad value names its variable. */
export function brokerOnFromEnv(env: NodeJS.ProcessEnv): NonNullable<SandboxOptions['brokerOn']> {
  const platform = env.SANDBOX_BROKER_ON || 'gcp';
  if (platform === 'gcp' || platform === 'spiffe') return { platform };
  if (platform !== 'aws') throw new Error('SANDBOX_BROKER_ON must be gcp, aws or spiffe');
  const tokenSource = env.SANDBOX_AWS_TOKEN_SOURCE || 'cognito';
  if (tokenSource !== 'cognito' && tokenSource !== 'webIdentity')
    throw new Error('SANDBOX_AWS_TOKEN_SOURCE must be cognito or webIdentity');
  return { platform, tokenSource };
}

/** What endpoints.json holds: every URL, the demo identities, and a local workload's environment. */
export interface SandboxEndpoints {
  /** `settingsFile`: the broker's app settings, which `node dist/sandbox/instance.js <stateDir> <port>` starts another instance from. */
  broker: { url: string; tokenUrl: string; audience: string; settingsFile: string };
  entra: {
    authorityHost: string;
    tenantId: string;
    adminUrl: string;
    graphUrl: string;
    armUrl: string;
    jwksUrl: string;
  };
  google: {
    issuer: string;
    discoveryUrl: string;
    jwksUrl: string;
    /** Base of the test-only `/admin/mint` and `/admin/keys` routes (sandbox/gcp/README.md); Google has none. */
    adminUrl: string;
  };
  gcp: {
    brokerVm: { metadataHost: string; serviceAccount: string; uniqueId: string };
    callerVm: { metadataHost: string; serviceAccount: string; uniqueId: string };
  };
  azurite: { connectionString: string };
  /** The vault the refresh timer publishes `target`'s token for `scope` to, as secret `secretName`. */
  keyVault: { vaultUrl: string; adminUrl: string; secretName: string; scope: string; target: string };
  aws: AwsEndpoints;
  spiffe: SpiffeEndpoints;
  /**
   * The app's managed identity endpoint (App Service style) and the identity a broker "on Azure" presents. Its
   * IDENTITY_HEADER is a secret and is only in `broker.settingsFile`; `policyFile` names `target` (source
   * `managedIdentity`) for a broker instance started with it (`node dist/sandbox/instance.js`).
   */
  managedIdentity: {
    endpoint: string;
    adminUrl: string;
    clientId: string;
    principalId: string;
    /** The federated credential on the demo app that trusts the identity. */
    credential: { issuer: string; subject: string; audience: string };
    target: string;
    policyFile: string;
  };
  kubernetes: CiAndClusterEndpoints['kubernetes'];
  github: CiAndClusterEndpoints['github'];
  demo: {
    target: string;
    scope: string;
    managedIdentityTarget: string;
    appId: string;
    managedIdentityClientId: string;
    /** Client id of the app that may manage FICs through Graph, federated with the demo caller. */
    operatorAppId: string;
  };
  caCertificate: string;
  /** Environment for a local workload acting as the demo caller. */
  callerEnvironment: Record<string, string>;
}

export interface RunningSandbox {
  endpoints: SandboxEndpoints;
  close(): Promise<void>;
}

/** Starts every component; on any failure, stops what already started and rethrows. */
export async function startSandbox(options: SandboxOptions): Promise<RunningSandbox> {
  await assertPortsFree({ ...options.ports });
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    await mkdir(options.stateDir, { recursive: true });
    const ca = await createCertificateAuthority();
    const caPath = path.join(options.stateDir, 'ca.pem');
    await writeFile(caPath, ca.certPem);
    // This process hosts the broker, which must trust the stand-ins' certificates as NODE_EXTRA_CA_CERTS would.
    trustCertificateAuthority(ca.certPem);
    const tls = await ca.issue(['localhost', '127.0.0.1']);

    const azurite = await startAzurite({
      blob: options.ports.azuriteBlob,
      queue: options.ports.azuriteQueue,
      table: options.ports.azuriteTable,
    });
    closers.push(azurite.stop);

    const google = await startGoogleIssuer({ tls, port: options.ports.google });
    closers.push(google.close);
    const vm = (name: string, account: { email: string; uniqueId: string }, port: number) =>
      startGcpMetadataServer({
        port,
        projectId: DEMO.projectId,
        projectNumber: DEMO.projectNumber,
        instance: {
          id: String(4_000_000_000_000_000_000n + BigInt(port)),
          name,
          zone: 'europe-west1-b',
          creationTimestampSeconds: 1_760_000_000,
        },
        serviceAccounts: [{ ...account, default: true }],
        issuer: google,
      });
    const brokerMetadata = await vm('token-broker-vm', DEMO.broker, options.ports.brokerVm);
    closers.push(brokerMetadata.close);
    const callerMetadata = await vm('demo-caller-vm', DEMO.caller, options.ports.callerVm);
    closers.push(callerMetadata.close);

    const aws = await startAwsSandbox({
      closers,
      tls,
      ports: { sts: options.ports.sts, cognito: options.ports.cognito },
    });
    const awsSource = options.brokerOn?.platform === 'aws' ? options.brokerOn.tokenSource : null;

    const brokerUrl = `http://127.0.0.1:${options.ports.broker}`;
    const audience = brokerUrl;
    const workloads = await startCiAndCluster({
      closers,
      tls,
      ports: { kubernetes: options.ports.kubernetes, github: options.ports.github },
      stateDir: options.stateDir,
      brokerAudience: audience,
    });
    const spiffe = await startSpiffe({
      closers,
      tls,
      port: options.ports.spireOidc,
      stateDir: options.stateDir,
    });
    const brokerSource =
      options.brokerOn?.platform === 'spiffe' ? 'spiffe' : awsSource ? 'aws' : 'gcpMetadata';

    // withHostIdentity adds the broker's Azure identity and the demo app's credential for it; nothing else changes.
    const seed = withHostIdentity(
      demoSeed(path.join(options.appRoot, 'sandbox', 'entra', 'seed.json'), [
        ...aws.credentials,
        spiffe.credential,
      ]),
    );
    const ids = demoIds(seed);
    const entra = await startEntraStandIn({
      tls,
      port: options.ports.entra,
      seed,
      discoveryOverrides: {
        [DEMO.googleIssuer]: google.server.url,
        ...aws.discoveryOverrides,
        ...spiffe.discoveryOverrides,
      },
    });
    closers.push(entra.close);
    // The function app's managed identity endpoint: Entra-signed tokens for the host identity, as App Service gives.
    const identityEndpoint = await startIdentityEndpoint({
      port: options.ports.managedIdentity,
      identities: [
        {
          clientId: HOST_IDENTITY.clientId,
          principalId: HOST_IDENTITY.principalId,
          resourceId: hostIdentityResourceId(),
        },
      ],
      issue: async ({ clientId, resource }) => {
        const issued = await entra.issueManagedIdentityToken({ tenant: ids.tenantId, clientId, resource });
        return issued.ok
          ? { accessToken: issued.token.accessToken, expiresOn: issued.token.expiresOn }
          : undefined;
      },
    });
    closers.push(identityEndpoint.close);
    // Key Vault, where the refresh timer publishes the demo app's Graph token. The managed identity is the
    // broker's own vault identity (BROKER_VAULT_TARGET): it writes, and a workload reading the secret with a
    // token for that identity (from the broker) reads.
    const vault = await startKeyVaultStandIn({
      tls,
      port: options.ports.keyVault,
      tenantId: ids.tenantId,
      entraUrl: entra.url,
      accessPolicies: { [ids.managedIdentityClientId]: ['get', 'list', 'set'] },
    });
    closers.push(vault.close);
    const publish = {
      vaultUrl: vault.vaultUrl,
      secretName: DEMO.publishedSecret,
      scope: DEMO.publishedScope,
    };

    const policyPath = path.join(options.stateDir, 'policy.json');
    const policy = demoPolicy(ids, brokerSource, aws.callers, [...workloads.callers, spiffe.caller], publish);
    await writeFile(policyPath, `${JSON.stringify(policy, null, 2)}\n`);
    const miPolicyPath = path.join(options.stateDir, HOST_IDENTITY.policyFile);
    const miPolicy = managedIdentityPolicy(policy, DEMO.target, {
      kind: 'google',
      subject: DEMO.caller.uniqueId,
      email: DEMO.caller.email,
    });
    await writeFile(miPolicyPath, `${JSON.stringify(miPolicy, null, 2)}\n`);
    const brokerSettings: Record<string, string> = {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: azurite.connectionString,
      // The shared cache tier's key: random per sandbox run, like a key kept in Key Vault.
      TOKEN_CACHE_KEYS: `sandbox-1:${randomBytes(32).toString('base64')}`,
      BROKER_VAULT_TARGET: DEMO.managedIdentityTarget,
      // The stand-in's host is 127.0.0.1, not a subdomain of vault.azure.net (sandbox/keyvault/README.md).
      KEY_VAULT_CHALLENGE_VERIFICATION: 'off',
      BROKER_AUDIENCE: audience,
      BROKER_POLICY_FILE: policyPath,
      ENTRA_AUTHORITY_HOST: entra.authorityHost,
      GOOGLE_JWKS_URL: google.jwksUrl,
      GCE_METADATA_HOST: brokerMetadata.metadataHost,
      GOOGLE_CLOUD_PROJECT: DEMO.projectId,
      METADATA_SERVER_DETECTION: 'assume-present',
      ...aws.brokerEnv(awsSource),
      ...workloads.brokerEnv,
      ...spiffe.brokerEnv,
      // What App Service sets for an app with a managed identity; used only by a policy naming the
      // managedIdentity source (miPolicyPath). The header is a secret, as the cache key above.
      IDENTITY_ENDPOINT: identityEndpoint.endpoint,
      IDENTITY_HEADER: identityEndpoint.header,
      MANAGED_IDENTITY_CLIENT_ID: HOST_IDENTITY.clientId,
    };
    // More instances of the broker (sandbox/instance.ts) start from these; the file holds the sandbox's
    // cache key, so only its owner may read it.
    const settingsFile = path.join(options.stateDir, 'broker-settings.json');
    await writeFile(settingsFile, `${JSON.stringify(brokerSettings, null, 2)}\n`, { mode: 0o600 });
    const host = await startLocalHost({
      appRoot: options.functionApp ?? options.appRoot,
      timers: options.timers !== false,
      port: options.ports.broker,
      ...(options.log ? { log: options.log } : {}),
      env: brokerSettings,
    });
    closers.push(host.close);

    const endpoints: SandboxEndpoints = {
      broker: { url: host.url, tokenUrl: `${host.url}/api/token`, audience, settingsFile },
      entra: {
        authorityHost: entra.authorityHost,
        tenantId: ids.tenantId,
        adminUrl: `${entra.url}/admin`,
        graphUrl: `${entra.url}/v1.0`,
        armUrl: entra.url,
        jwksUrl: `${entra.url}/${ids.tenantId}/discovery/v2.0/keys`,
      },
      google: {
        issuer: DEMO.googleIssuer,
        discoveryUrl: google.discoveryUrl,
        jwksUrl: google.jwksUrl,
        adminUrl: `${google.server.url}/admin`,
      },
      gcp: {
        brokerVm: {
          metadataHost: brokerMetadata.metadataHost,
          serviceAccount: DEMO.broker.email,
          uniqueId: DEMO.broker.uniqueId,
        },
        callerVm: {
          metadataHost: callerMetadata.metadataHost,
          serviceAccount: DEMO.caller.email,
          uniqueId: DEMO.caller.uniqueId,
        },
      },
      azurite: { connectionString: azurite.connectionString },
      keyVault: { ...publish, adminUrl: `${vault.url}/admin`, target: DEMO.target },
      aws: aws.endpoints(awsSource),
      spiffe: spiffe.endpoints,
      managedIdentity: {
        endpoint: identityEndpoint.endpoint,
        adminUrl: `${identityEndpoint.url}/admin`,
        clientId: HOST_IDENTITY.clientId,
        principalId: HOST_IDENTITY.principalId,
        credential: (({ issuer, subject, audiences }) => ({
          issuer,
          subject,
          audience: audiences[0] as string,
        }))(hostIdentityCredential(ids.tenantId)),
        target: HOST_IDENTITY.target,
        policyFile: miPolicyPath,
      },
      ...workloads.endpoints,
      demo: {
        target: DEMO.target,
        scope: DEMO.scope,
        managedIdentityTarget: DEMO.managedIdentityTarget,
        appId: ids.appId,
        managedIdentityClientId: ids.managedIdentityClientId,
        operatorAppId: DEMO.operator.appId,
      },
      caCertificate: caPath,
      callerEnvironment: {
        GCE_METADATA_HOST: callerMetadata.metadataHost,
        GOOGLE_CLOUD_PROJECT: DEMO.projectId,
        METADATA_SERVER_DETECTION: 'assume-present',
        NODE_EXTRA_CA_CERTS: caPath,
        BROKER_URL: host.url,
        BROKER_AUDIENCE: audience,
      },
    };
    await writeFile(path.join(options.stateDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
    return { endpoints, close };
  } catch (error) {
    await close();
    throw error;
  }
}

// The Kubernetes and GitHub Actions half of the sandbox (issue 9): a cluster's service-account issuer
// with a demo pod's projected token file, GitHub's issuer with a demo deploy job, the broker's settings
// to trust them, and their sections of endpoints.json.
import path from 'node:path';
import { type GitHubActionsJob, startGitHubActionsOidc } from './github/actionsOidc.js';
import { startKubernetesIssuer } from './kubernetes/kubernetesIssuer.js';
import { startProjectedTokenFile } from './kubernetes/projectedTokenFile.js';
import type { PemPair } from './lib/tls.js';

export const CLUSTER_DEMO = {
  issuer: 'https://kubernetes.sandbox.example',
  namespace: 'payments',
  serviceAccount: 'api',
  pod: { name: 'api-7d9f6b', uid: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
} as const;

export const GITHUB_DEMO: GitHubActionsJob = {
  owner: 'contoso',
  ownerId: 4_242_001,
  repository: 'payments',
  repositoryId: 4_242_002,
  ref: 'refs/heads/main',
  sha: '2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e',
  workflow: 'deploy',
  workflowRef: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
  jobWorkflowRef: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
  environment: 'prod',
  eventName: 'push',
  actor: 'octocat',
  actorId: 583_231,
  runId: 9_000_001,
  runNumber: 42,
  runAttempt: 1,
  visibility: 'private',
};

export interface CiAndClusterEndpoints {
  kubernetes: {
    issuer: string;
    callerTokenFile: string;
    namespace: string;
    serviceAccount: string;
    /** The cluster issuer's keys, and its sandbox-only /admin (mint, keys). */
    jwksUrl: string;
    adminUrl: string;
  };
  github: {
    requestUrl: string;
    requestToken: string;
    repository: string;
    environment: string;
    jwksUrl: string;
    adminUrl: string;
  };
}

export interface RunningCiAndCluster {
  brokerEnv: Record<string, string>;
  /** The demo callers the policy admits. */
  callers: Array<Record<string, string>>;
  endpoints: CiAndClusterEndpoints;
}

export async function startCiAndCluster(options: {
  /** Each started component's closer is pushed here; the caller closes them, in reverse, on failure. */
  closers: Array<() => Promise<void>>;
  tls: PemPair;
  ports: { kubernetes: number; github: number };
  stateDir: string;
  brokerAudience: string;
}): Promise<RunningCiAndCluster> {
  const { closers } = options;
  const cluster = await startKubernetesIssuer({
    issuer: CLUSTER_DEMO.issuer,
    tls: options.tls,
    port: options.ports.kubernetes,
  });
  closers.push(() => cluster.close());
  const callerTokenFile = path.join(options.stateDir, 'kubernetes', CLUSTER_DEMO.pod.name, 'token');
  const projected = await startProjectedTokenFile({
    issuer: cluster,
    path: callerTokenFile,
    namespace: CLUSTER_DEMO.namespace,
    serviceAccount: CLUSTER_DEMO.serviceAccount,
    pod: CLUSTER_DEMO.pod,
    audiences: [options.brokerAudience],
    expirationSeconds: 3600,
  });
  closers.push(() => projected.close());
  const github = await startGitHubActionsOidc({
    tls: options.tls,
    port: options.ports.github,
    jobs: { deploy: GITHUB_DEMO },
  });
  closers.push(() => github.close());
  const job = github.job('deploy');
  if (!job.requestUrl || !job.requestToken)
    throw new Error('the demo GitHub job may not request an ID token');
  const repository = `${GITHUB_DEMO.owner}/${GITHUB_DEMO.repository}`;
  return {
    brokerEnv: {
      KUBERNETES_ISSUERS: JSON.stringify([{ issuer: CLUSTER_DEMO.issuer, jwksUrl: cluster.jwksUrl }]),
      GITHUB_JWKS_URL: github.jwksUrl,
    },
    callers: [
      {
        kind: 'kubernetes',
        issuer: CLUSTER_DEMO.issuer,
        namespace: CLUSTER_DEMO.namespace,
        serviceAccount: CLUSTER_DEMO.serviceAccount,
      },
      { kind: 'github', repository, environment: GITHUB_DEMO.environment as string },
    ],
    endpoints: {
      kubernetes: {
        issuer: CLUSTER_DEMO.issuer,
        callerTokenFile,
        namespace: CLUSTER_DEMO.namespace,
        serviceAccount: CLUSTER_DEMO.serviceAccount,
        jwksUrl: cluster.jwksUrl,
        adminUrl: cluster.adminUrl,
      },
      github: {
        requestUrl: job.requestUrl,
        requestToken: job.requestToken,
        repository,
        environment: GITHUB_DEMO.environment as string,
        jwksUrl: github.jwksUrl,
        adminUrl: github.adminUrl,
      },
    },
  };
}

// The SPIFFE half of the sandbox (issue 9): the broker's SPIRE agent (RSA trust domain, the setting a
// SPIRE whose SVIDs go to Entra needs) with its OIDC discovery provider for Entra, and a workload's
// agent in an EC trust domain (SPIRE's default); each agent holds the other's bundle (federation).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DemoCredential } from './demo.js';
import type { PemPair } from './lib/tls.js';
import { startSpireOidcProvider } from './spiffe/oidcDiscoveryProvider.js';
import { startSpireAgent } from './spiffe/spireAgent.js';
import { createSpireTrustDomain } from './spiffe/trustDomain.js';

export const SPIFFE_DEMO = {
  brokerTrustDomain: 'broker.sandbox',
  brokerId: 'spiffe://broker.sandbox/token-broker',
  /** SPIRE's `jwt_issuer` for the broker's trust domain: what Entra's federated credential names. */
  brokerIssuer: 'https://spire-oidc.broker.sandbox',
  callerTrustDomain: 'workloads.sandbox',
  callerPath: '/ns/payments/sa/api',
} as const;

export interface SpiffeEndpoints {
  /** The demo workload's Workload API (`SPIFFE_ENDPOINT_SOCKET`). */
  callerSocket: string;
  /** The callers' trust domain (EC keys) and the workload's SPIFFE ID. */
  trustDomain: string;
  callerId: string;
  /** The broker's agent and trust domain (RSA keys). */
  brokerSocket: string;
  brokerTrustDomain: string;
  /** The agents' sandbox-only admin (rotate, stop, start). */
  brokerAgentAdminUrl: string;
  callerAgentAdminUrl: string;
}

export interface RunningSpiffe {
  credential: DemoCredential;
  discoveryOverrides: Record<string, string>;
  brokerEnv: Record<string, string>;
  caller: Record<string, string>;
  endpoints: SpiffeEndpoints;
}

export async function startSpiffe(options: {
  /** Each started component's closer is pushed here; the caller closes them, in reverse, on failure. */
  closers: Array<() => Promise<void>>;
  tls: PemPair;
  port: number;
  stateDir: string;
}): Promise<RunningSpiffe> {
  const { closers } = options;
  const sockets = path.join(options.stateDir, 'spire');
  await mkdir(sockets, { recursive: true });
  const brokerDomain = await createSpireTrustDomain({
    name: SPIFFE_DEMO.brokerTrustDomain,
    jwtKeyType: 'rsa-2048',
    jwtIssuer: SPIFFE_DEMO.brokerIssuer,
  });
  const callerDomain = await createSpireTrustDomain({ name: SPIFFE_DEMO.callerTrustDomain });
  const callerId = `spiffe://${SPIFFE_DEMO.callerTrustDomain}${SPIFFE_DEMO.callerPath}`;
  const brokerAgent = await startSpireAgent({
    trustDomain: brokerDomain,
    federatedTrustDomains: [callerDomain],
    workloads: [{ socketPath: path.join(sockets, 'broker.sock'), spiffeIds: [SPIFFE_DEMO.brokerId] }],
    admin: { port: 0 },
  });
  closers.push(() => brokerAgent.close());
  const callerAgent = await startSpireAgent({
    trustDomain: callerDomain,
    federatedTrustDomains: [brokerDomain],
    workloads: [{ socketPath: path.join(sockets, 'caller.sock'), spiffeIds: [callerId] }],
    admin: { port: 0 },
  });
  closers.push(() => callerAgent.close());
  // Entra reads the discovery document here (through its override map); jwks_uri must point here too,
  // not at the issuer's host, which only exists in the document.
  const provider = await startSpireOidcProvider({
    trustDomain: brokerDomain,
    jwtIssuer: SPIFFE_DEMO.brokerIssuer,
    jwksUri: `https://127.0.0.1:${options.port}/keys`,
    setKeyUse: true,
    tls: options.tls,
    port: options.port,
  });
  closers.push(() => provider.close());
  const [brokerSocket] = brokerAgent.endpoints as [string];
  const [callerSocket] = callerAgent.endpoints as [string];
  return {
    credential: {
      name: 'spiffe-token-broker',
      issuer: SPIFFE_DEMO.brokerIssuer,
      subject: SPIFFE_DEMO.brokerId,
      audiences: ['api://AzureADTokenExchange'],
      description: "The broker's SPIFFE ID, JWT-SVIDs from its SPIRE agent (sandbox).",
    },
    discoveryOverrides: { [SPIFFE_DEMO.brokerIssuer]: provider.url },
    brokerEnv: {
      SPIFFE_ENDPOINT_SOCKET: brokerSocket,
      SPIFFE_TRUST_DOMAINS: JSON.stringify([
        { trustDomain: SPIFFE_DEMO.callerTrustDomain, workloadApi: true },
      ]),
    },
    caller: { kind: 'spiffe', trustDomain: SPIFFE_DEMO.callerTrustDomain, path: SPIFFE_DEMO.callerPath },
    endpoints: {
      callerSocket,
      trustDomain: SPIFFE_DEMO.callerTrustDomain,
      callerId,
      brokerSocket,
      brokerTrustDomain: SPIFFE_DEMO.brokerTrustDomain,
      brokerAgentAdminUrl: brokerAgent.adminUrl as string,
      callerAgentAdminUrl: callerAgent.adminUrl as string,
    },
  };
}

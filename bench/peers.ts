// Issue 11's peer comparison: what workloads do without the broker. 100 workloads each run
// @azure/identity's ClientAssertionCredential (MSAL, its own token cache per credential) against the Entra
// stand-in with 200 ms added to every token request, presenting their own platform token; the same 100
// workloads then ask the broker instead, each pausing about 100 ms between its requests (50–150 ms, and a
// random start, so the workloads are not in step). Per side: calls that
// reached Entra per 1,000 requests, p50, p99.
import { performance } from 'node:perf_hooks';
import { ClientAssertionCredential } from '@azure/identity';
import type { SandboxEndpoints } from '../sandbox/sandbox.js';

const WORKLOADS = 100;
const REQUESTS_EACH = 10;
const ENTRA_LATENCY_MS = 200;
/** Between two requests of one workload: a workload that needs a token, then works. */
const THINK_MS = 100;

export interface PeerFigures {
  peer: { entraCallsPer1000: number; p50: number; p99: number };
  broker: { entraCallsPer1000: number; p50: number; p99: number };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0) * 100) / 100
  );
};

export async function peersBench(
  e: SandboxEndpoints,
  /** The workload's own platform token for an audience (the caller VM's Google ID token). */
  platformToken: (audience: string) => Promise<string>,
  brokerForm: (audience: string, scope?: string) => URLSearchParams,
): Promise<PeerFigures> {
  const successes = async () => {
    const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
      tenants: Record<string, Record<string, { successes: number }>>;
    };
    return Object.values(counters.tenants[e.entra.tenantId] ?? {}).reduce((sum, c) => sum + c.successes, 0);
  };
  await fetch(`${e.entra.adminUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: e.entra.tenantId, latencyMs: ENTRA_LATENCY_MS }),
  });
  try {
    const assertion = await platformToken('api://AzureADTokenExchange');
    const scope = 'https://graph.microsoft.com/.default';
    // Workloads are not in step: each starts at a random moment within one think time and thinks for
    // 50–150% of it. In lockstep, every round would be a burst of 100 requests at the same instant, and the
    // figures would measure the burst rather than a request.
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const timedEach = async (request: () => Promise<void>) => {
      const times: number[] = [];
      await pause(Math.random() * THINK_MS);
      for (let i = 0; i < REQUESTS_EACH; i++) {
        const started = performance.now();
        await request();
        times.push(performance.now() - started);
        await pause(THINK_MS * (0.5 + Math.random()));
      }
      return times;
    };

    // Without the broker: each workload federates with Entra itself (the operator app trusts the
    // demo caller's Google identity in the sandbox).
    const beforePeers = await successes();
    const peerTimes = (
      await Promise.all(
        Array.from({ length: WORKLOADS }, () => {
          const credential = new ClientAssertionCredential(
            e.entra.tenantId,
            e.demo.operatorAppId,
            async () => assertion,
            {
              authorityHost: e.entra.authorityHost,
              disableInstanceDiscovery: true,
            },
          );
          return timedEach(async () => {
            await credential.getToken(scope);
          });
        }),
      )
    ).flat();
    const peerCalls = (await successes()) - beforePeers;

    // With the broker: the same workloads ask it for a target no one has asked for yet.
    const beforeBroker = await successes();
    const brokerTimes = (
      await Promise.all(
        Array.from({ length: WORKLOADS }, () =>
          timedEach(async () => {
            const response = await fetch(e.broker.tokenUrl, {
              method: 'POST',
              body: brokerForm(e.demo.managedIdentityTarget),
            });
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`the broker answered ${response.status}`);
          }),
        ),
      )
    ).flat();
    const brokerCalls = (await successes()) - beforeBroker;
    const per1000 = (calls: number, requests: number) => Math.round((calls / requests) * 1000 * 10) / 10;
    return {
      peer: {
        entraCallsPer1000: per1000(peerCalls, peerTimes.length),
        p50: percentile(peerTimes, 50),
        p99: percentile(peerTimes, 99),
      },
      broker: {
        entraCallsPer1000: per1000(brokerCalls, brokerTimes.length),
        p50: percentile(brokerTimes, 50),
        p99: percentile(brokerTimes, 99),
      },
    };
  } finally {
    await fetch(`${e.entra.adminUrl}/faults`, { method: 'DELETE' });
  }
}

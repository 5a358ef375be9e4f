// Issue 10's figures for `npm run bench`: a cold instance's first request with and without the shared
// tier (Entra at +200 ms, as a remote Entra is), and Entra exchanges when several instances need the same
// token at once, with leases (the shared tier) and without. Instances are sandbox/instance.ts processes
// beside the launched sandbox, sharing its Azurite.
import { performance } from 'node:perf_hooks';
import { type Launched, type LaunchedInstance, launchInstance } from '../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../sandbox/sandbox.js';

const ENTRA_LATENCY_MS = 200;

export interface LifecycleFigures {
  lines: string[];
}

export async function lifecycleBench(
  launched: Launched,
  e: SandboxEndpoints,
  form: (audience: string, scope?: string) => URLSearchParams,
  instances = 3,
): Promise<LifecycleFigures> {
  const started: LaunchedInstance[] = [];
  const start = async (settings: Record<string, string | null> = {}) => {
    const instance = await launchInstance(launched, settings);
    started.push(instance);
    return instance;
  };
  const exchange = async (url: string, audience: string, scope?: string) => {
    const response = await fetch(`${url}/api/token`, { method: 'POST', body: form(audience, scope) });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`exchange at ${url} failed with ${response.status}`);
  };
  const exchanges = async () => {
    const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
      tenants: Record<string, Record<string, { successes: number }>>;
    };
    return Object.values(counters.tenants[e.entra.tenantId] ?? {}).reduce((sum, c) => sum + c.successes, 0);
  };
  const timed = async (run: () => Promise<void>) => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  await fetch(`${e.entra.adminUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: e.entra.tenantId, latencyMs: ENTRA_LATENCY_MS }),
  });
  try {
    // The token is in the shared tier already (the sandbox broker served it).
    await exchange(e.broker.url, e.demo.target, e.demo.scope);
    // A single cold request is noisy (module loading and JIT dominate it): the median of three fresh
    // instances per variant, alternating.
    const coldRuns = { shared: [] as number[], alone: [] as number[] };
    let sharedCalls = 0;
    let aloneCalls = 0;
    let withTier: LaunchedInstance | undefined;
    let withoutTier: LaunchedInstance | undefined;
    for (let round = 0; round < 3; round++) {
      withTier = await start();
      withoutTier = await start({ TOKEN_CACHE_KEYS: null });
      const before = await exchanges();
      coldRuns.shared.push(
        await timed(() => exchange((withTier as LaunchedInstance).url, e.demo.target, e.demo.scope)),
      );
      const between = await exchanges();
      coldRuns.alone.push(
        await timed(() => exchange((withoutTier as LaunchedInstance).url, e.demo.target, e.demo.scope)),
      );
      sharedCalls += between - before;
      aloneCalls += (await exchanges()) - between;
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const coldShared = median(coldRuns.shared);
    const coldAlone = median(coldRuns.alone);

    // N instances asking for a token none holds, at once: one round per scope not fetched yet.
    const withLeases = [e.broker.url, (withTier as LaunchedInstance).url];
    while (withLeases.length < instances) withLeases.push((await start()).url);
    const withoutLeases = [(withoutTier as LaunchedInstance).url];
    while (withoutLeases.length < instances)
      withoutLeases.push((await start({ TOKEN_CACHE_KEYS: null })).url);
    const round = async (urls: string[], scope: string) => {
      const before = await exchanges();
      await Promise.all(urls.map((url) => exchange(url, e.demo.target, scope)));
      return (await exchanges()) - before;
    };
    const [scopeA, scopeB] = ['https://graph.microsoft.com/.default', 'https://storage.azure.com/.default'];
    const leased = [await round(withLeases, scopeA), await round(withLeases, scopeB)];
    const unleased = [await round(withoutLeases, scopeA), await round(withoutLeases, scopeB)];
    const perRound = (counts: number[]) => counts.reduce((a, b) => a + b, 0) / counts.length;
    // Each instance fetches each token once per lifetime (Entra: 60-90 min, 75 on average) without
    // leases; with them the instances fetch it once between them.
    const perHour = (calls: number) => (calls * 60) / 75;
    return {
      lines: [
        `cold instance, first request, shared tier:        ${coldShared.toFixed(1)} ms (median of 3; ${sharedCalls} Entra exchanges in all; Entra at +${ENTRA_LATENCY_MS} ms)`,
        `cold instance, first request, no shared tier:     ${coldAlone.toFixed(1)} ms (median of 3; ${aloneCalls} Entra exchanges in all)`,
        `cold first request without / with shared tier:    ${(coldAlone / coldShared).toFixed(2)}`,
        `${instances} instances needing one token at once:       ${perRound(leased)} Entra exchanges with leases, ${perRound(unleased)} without (mean of ${leased.length} rounds)`,
        `Entra calls per hour per target and scope, ${instances} instances: ${perHour(perRound(leased)).toFixed(1)} with leases, ${perHour(perRound(unleased)).toFixed(1)} without (one fetch per 75-min token lifetime)`,
      ],
    };
  } finally {
    await fetch(`${e.entra.adminUrl}/faults`, { method: 'DELETE' });
    for (const instance of started) {
      instance.child.kill('SIGINT');
      await instance.exited;
    }
  }
}

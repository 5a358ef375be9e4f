// Issue 11's hot path: repeat callers on a warm target, 1,000 distinct caller tokens per kind (Google
// RS256 ID tokens, SPIFFE ES256 JWT-SVIDs), through the local Functions host and through the bare handler
// (bench/servers.ts), each with and without the verified-token cache, against a baseline measured in the
// same run: node:http doing one jose verification per request. Plus a concurrency sweep for the chart.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import { decodeJwt } from 'jose';
import { freePorts, type Launched, launchInstance } from '../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../sandbox/sandbox.js';
import { WorkloadApiClient } from '../shared/sources/workloadApi.js';

const here = import.meta.dirname;

export interface LoadResult {
  name: string;
  connections: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
}

interface Server {
  url: string;
  stop(): Promise<void>;
}

/** Starts bench/servers.ts as its own process. */
async function startServer(
  kind: string,
  stateDir: string,
  env: Record<string, string> = {},
): Promise<Server> {
  const [port] = await freePorts(1);
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(here, 'servers.js'), kind, String(port), stateDir],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench server ${kind} exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** autocannon against `url`, each request's body the next of `bodies`. */
export async function loadBodies(
  name: string,
  url: string,
  bodies: readonly string[],
  connections: number,
  durationMs: number,
): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: durationMs / 1000,
    requests: [
      {
        method: bodies.length > 0 ? 'POST' : 'GET',
        ...(bodies.length > 0 ? { headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
        setupRequest: (request) =>
          bodies.length > 0 ? { ...request, body: bodies[next++ % bodies.length] } : request,
      },
    ],
  });
  return {
    name,
    connections,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
  };
}

export interface HotPathResults {
  rows: LoadResult[];
  sweep: LoadResult[];
  ratios: Record<string, number>;
}

export async function hotPathBench(
  launched: Launched,
  e: SandboxEndpoints,
  options: { durationMs: number; connections: number; callers: number; sweep: readonly number[] },
): Promise<HotPathResults> {
  // 1,000 distinct Google ID tokens for the demo caller: the metadata server's token, re-signed by the
  // Google stand-in with a different iat (and exp) each.
  const identity = `http://${e.gcp.callerVm.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity`;
  const template = decodeJwt(
    await (
      await fetch(`${identity}?audience=${e.broker.audience}&format=full`, {
        headers: { 'Metadata-Flavor': 'Google' },
      })
    ).text(),
  );
  const now = Math.floor(Date.now() / 1000);
  const mint = async (url: string, claims: Record<string, unknown>) =>
    (
      (await (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ claims }),
        })
      ).json()) as { token: string }
    ).token;
  const google = await Promise.all(
    Array.from({ length: options.callers }, (_, i) =>
      mint(`${e.google.adminUrl}/mint`, { ...template, iat: now - i, exp: now - i + 3000 }),
    ),
  );
  const svidMint = `${e.spiffe.callerAgentAdminUrl}/admin/trust-domains/${e.spiffe.trustDomain}/mint`;
  const spiffe = await Promise.all(
    Array.from({ length: options.callers }, (_, i) =>
      // Valid for the whole run (40 minutes), like the Google tokens, and each one distinct.
      mint(svidMint, { sub: e.spiffe.callerId, aud: [e.broker.audience], iat: now - i, exp: now - i + 2400 }),
    ),
  );
  const body = (token: string) =>
    new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: token,
      audience: e.demo.target,
      scope: e.demo.scope,
    }).toString();
  const googleBodies = google.map(body);
  const spiffeBodies = spiffe.map(body);

  // The baseline verifies SVIDs against the caller trust domain's bundle, as the broker does.
  const workload = new WorkloadApiClient(e.spiffe.callerSocket);
  const bundle = await new Promise<unknown>((resolve, reject) => {
    const stop = workload.watchJwtBundles((bundles) => {
      stop();
      resolve(bundles.get(e.spiffe.trustDomain));
    }, reject);
  });
  workload.close();
  const bundleFile = path.join(launched.stateDir, 'bench-spiffe-bundle.json');
  await writeFile(bundleFile, JSON.stringify(bundle));

  // The broker's answer, to size the baseline's.
  const sample = await fetch(e.broker.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams(googleBodies[0]),
  });
  const size = (await sample.text()).length;
  if (sample.status !== 200) throw new Error(`the warm-up exchange failed with ${sample.status}`);

  const servers: Server[] = [];
  const started = [] as Array<{ child: ChildProcess; exited: Promise<number | null> }>;
  try {
    const bareCached = await startServer('bare', launched.stateDir);
    servers.push(bareCached);
    const bareUncached = await startServer('bare', launched.stateDir, {
      BENCH_SETTINGS: JSON.stringify({ VERIFIED_TOKEN_CACHE_MAX_ENTRIES: '0' }),
    });
    servers.push(bareUncached);
    const baseline = await startServer('baseline', launched.stateDir, {
      BENCH_BODY_BYTES: String(size),
      BENCH_SPIFFE_BUNDLE: bundleFile,
    });
    servers.push(baseline);
    const nodeHealth = await startServer('health', launched.stateDir);
    servers.push(nodeHealth);
    const hostUncached = await launchInstance(launched, { VERIFIED_TOKEN_CACHE_MAX_ENTRIES: '0' });
    started.push(hostUncached);

    const token = (url: string) => `${url}/api/token`;
    const { durationMs, connections } = options;
    const warm = async (url: string) => {
      // Every server takes the target's token and every caller token once before it is measured.
      await loadBodies('warm-up', token(url), googleBodies, connections, 1000);
      await loadBodies('warm-up', token(url), spiffeBodies, connections, 1000);
    };
    for (const url of [e.broker.url, bareCached.url, bareUncached.url, hostUncached.url, baseline.url])
      await warm(url);

    const rows: LoadResult[] = [];
    const run = async (name: string, url: string, bodies: readonly string[]) => {
      const result = await loadBodies(name, url, bodies, connections, durationMs);
      rows.push(result);
      return result;
    };
    const baseRs = await run('baseline: node:http + one jose verify, RS256', baseline.url, googleBodies);
    const baseEs = await run('baseline: node:http + one jose verify, ES256', baseline.url, spiffeBodies);
    const bareRs = await run(
      'bare handler, RS256, no verified-token cache',
      token(bareUncached.url),
      googleBodies,
    );
    const bareEs = await run(
      'bare handler, ES256, no verified-token cache',
      token(bareUncached.url),
      spiffeBodies,
    );
    const bareRsC = await run(
      'bare handler, RS256, verified-token cache',
      token(bareCached.url),
      googleBodies,
    );
    const bareEsC = await run(
      'bare handler, ES256, verified-token cache',
      token(bareCached.url),
      spiffeBodies,
    );
    const hostRs = await run(
      'local host, RS256, no verified-token cache',
      token(hostUncached.url),
      googleBodies,
    );
    const hostRsC = await run('local host, RS256, verified-token cache', token(e.broker.url), googleBodies);
    const hostEsC = await run('local host, ES256, verified-token cache', token(e.broker.url), spiffeBodies);
    const hostHealth = await run('local host, GET /api/health', `${e.broker.url}/api/health`, []);
    const bareHealth = await run('node:http, health body', nodeHealth.url, []);
    // A second baseline run at the end: how much the machine drifted during the run.
    const baseRsEnd = await run('baseline again (drift check), RS256', baseline.url, googleBodies);

    const sweep: LoadResult[] = [];
    for (const c of options.sweep) {
      sweep.push(await loadBodies('baseline', baseline.url, googleBodies, c, durationMs));
      sweep.push(await loadBodies('bare handler, cache', token(bareCached.url), googleBodies, c, durationMs));
      sweep.push(await loadBodies('local host, cache', token(e.broker.url), googleBodies, c, durationMs));
    }
    const ratio = (a: LoadResult, b: LoadResult) => Math.round((a.rps / b.rps) * 100) / 100;
    return {
      rows,
      sweep,
      ratios: {
        'bare handler / baseline, RS256, no cache (target ≥ 0.8)': ratio(bareRs, baseRs),
        'bare handler / baseline, ES256, no cache (target ≥ 0.8)': ratio(bareEs, baseEs),
        'bare handler / baseline, RS256, verified-token cache (target ≥ 2.0)': ratio(bareRsC, baseRs),
        'bare handler / baseline, ES256, verified-token cache (target ≥ 2.0)': ratio(bareEsC, baseEs),
        'local host / baseline, RS256, verified-token cache (target ≥ 0.6)': ratio(hostRsC, baseRs),
        'local host / baseline, ES256, verified-token cache (target ≥ 0.6)': ratio(hostEsC, baseEs),
        'local host / baseline, RS256, no cache': ratio(hostRs, baseRs),
        'local host health / node:http health (host overhead)': ratio(hostHealth, bareHealth),
        'baseline at end / at start (drift)': ratio(baseRsEnd, baseRs),
      },
    };
  } finally {
    for (const server of servers) await server.stop();
    for (const instance of started) {
      instance.child.kill('SIGINT');
      await instance.exited;
    }
  }
}

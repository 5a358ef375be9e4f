// Issue 11's hot path: repeat callers on a warm target, 1,000 distinct caller tokens per kind (Google
// RS256 ID tokens, SPIFFE ES256 JWT-SVIDs), through the local Functions host and through the bare handler
// (bench/servers.ts), each with and without the verified-token cache, against a baseline measured in the
// same run: node:http doing one jose verification per request. Plus a concurrency sweep for the chart.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { decodeJwt } from 'jose';
import { freePorts, type Launched, launchInstance } from '../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../sandbox/sandbox.js';
import { WorkloadApiClient } from '../shared/sources/workloadApi.js';
import { type Ratios, ratios } from './ratios.js';

const here = import.meta.dirname;
/**
 * The same load on a server just before each of its rows is measured (BENCH_WARM_UP_MS); four times as
 * long before a server's first row, which follows minutes of idling while the other servers are measured.
 */
const WARM_UP_MS = Number(process.env.BENCH_WARM_UP_MS ?? 2000);
const FIRST_WARM_UP_MS = 4 * WARM_UP_MS;
/**
 * Whether each measured server runs on a core of its own, with the load generator (this process) on another
 * (BENCH_PIN, on unless `off`; needs `taskset` and two cores). Unpinned, the load generator shares both
 * cores with the server, and a server that hands work to threads (the RS256 baseline: WebCrypto runs RSA on
 * libuv's pool) also takes part of the load generator's core, so req/s compares more than the servers.
 */
const PIN = process.env.BENCH_PIN !== 'off' && os.cpus().length >= 2;
const SERVER_CORE = '0';
const LOAD_CORE = '1';

/** Sets the CPU affinity of every thread of `pid` (threads started later inherit it); false if it cannot. */
function pinTo(pid: number | undefined, cores: string): boolean {
  if (pid === undefined) return false;
  try {
    execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cores, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Rounds of every comparison (BENCH_PAIR_ROUNDS); each ratio is the median of its rounds (ratios.ts). */
const PAIR_ROUNDS = Number(process.env.BENCH_PAIR_ROUNDS ?? 3);
if (!Number.isSafeInteger(PAIR_ROUNDS) || PAIR_ROUNDS < 1)
  throw new Error('BENCH_PAIR_ROUNDS must be a whole number of rounds, at least 1');

export interface LoadResult {
  name: string;
  connections: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  /** CPU time (user + system) the measured server's process spent per request, in µs; absent when unknown. */
  serverCpuUs?: number;
}

interface Server extends Measured {
  stop(): Promise<void>;
}

/**
 * CPU time a process has used so far, in ms, from /proc/<pid>/stat (utime + stime, in clock ticks of
 * 10 ms: Linux's USER_HZ of 100). Undefined where there is no /proc.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** A server under load: where to send requests, and its process (for CPU per request). */
interface Measured {
  url: string;
  pid: number | undefined;
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
    pid: child.pid,
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
  serverPid?: number,
): Promise<LoadResult> {
  let next = 0;
  const cpuBefore = processCpuMs(serverPid);
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
  const cpuAfter = processCpuMs(serverPid);
  const serverCpuUs =
    cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? Math.round(((cpuAfter - cpuBefore) * 1000) / result.requests.total)
      : undefined;
  return {
    name,
    connections,
    ...(serverCpuUs !== undefined ? { serverCpuUs } : {}),
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
  ratios: Ratios;
  /** Whether each server had a core of its own, and the load generator the other (PIN). */
  pinned: boolean;
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
    // Broker instances on the local host, each a process of its own (the sandbox's broker shares its
    // process with the stand-ins), so their CPU per request is theirs alone. They serve the deployable
    // app (dist/bundle), what a Functions worker loads in Azure, with the host library it was built with.
    const bundled = { SANDBOX_APP_ROOT: 'dist/bundle' };
    const hostUncached = await launchInstance(
      launched,
      { VERIFIED_TOKEN_CACHE_MAX_ENTRIES: '0' },
      30_000,
      bundled,
    );
    started.push(hostUncached);
    const hostCached = await launchInstance(launched, {}, 30_000, bundled);
    started.push(hostCached);
    const host = {
      uncached: { url: hostUncached.url, pid: hostUncached.child.pid },
      cached: { url: hostCached.url, pid: hostCached.child.pid },
    };

    const pinned =
      PIN &&
      [bareCached, bareUncached, baseline, nodeHealth, host.uncached, host.cached].every((server) =>
        pinTo(server.pid, SERVER_CORE),
      ) &&
      pinTo(process.pid, LOAD_CORE);
    if (PIN && !pinned)
      console.log('could not pin the servers and the load generator to cores (taskset); unpinned');

    const tokenAt = (server: Measured): Measured => ({ url: `${server.url}/api/token`, pid: server.pid });
    const { durationMs, connections } = options;
    // Every server takes the target's token and every caller token once before anything is measured.
    for (const server of [host.cached, bareCached, bareUncached, host.uncached, baseline]) {
      await loadBodies('warm-up', tokenAt(server).url, googleBodies, connections, 1000);
      await loadBodies('warm-up', tokenAt(server).url, spiffeBodies, connections, 1000);
    }

    const rows: LoadResult[] = [];
    const measured = new Set<number | undefined>();
    const run = async (name: string, at: Measured, bodies: readonly string[]) => {
      // The same load just before the row is measured, so V8 has optimised this path and its heap has
      // grown to it: a server measured after a minute idle (or warmed for only 1 s) ran its first row at
      // half the req/s of its later rows in the same run. After a minute idle, 2 s were not enough
      // either: a local host instance's first row still cost a third more CPU per request than the same
      // load a row later, with twice the CPU in V8's background threads (compilation and GC), so a
      // server's first row gets the longer warm-up.
      await loadBodies(
        'warm-up',
        at.url,
        bodies,
        connections,
        measured.has(at.pid) ? WARM_UP_MS : FIRST_WARM_UP_MS,
      );
      measured.add(at.pid);
      const result = await loadBodies(name, at.url, bodies, connections, durationMs, at.pid);
      rows.push(result);
      return result;
    };
    const [rs, es] = [googleBodies, spiffeBodies];
    const tokensOf = { RS256: rs, ES256: es };
    // A subject and the reference it is compared with: in every round the reference's row comes right
    // before the subject's, and the round's ratio compares the two. The machine drifts by a third or more
    // within one run, so a ratio against a row measured minutes earlier says as much about the drift as
    // about the server; and the rounds are spread over the run, so the median does not follow one pair
    // that landed in a busy second.
    interface Pair {
      subject: string;
      at: Measured;
      reference: string;
      base: Measured;
      bodies: readonly string[];
    }
    const againstBaseline = (server: string, at: Measured, alg: 'RS256' | 'ES256', cache: boolean): Pair => {
      const subject = `${server}, ${alg}, ${cache ? '' : 'no '}verified-token cache`;
      return {
        subject,
        at,
        reference: `baseline: node:http + one jose verify, ${alg} (before: ${subject})`,
        base: baseline,
        bodies: tokensOf[alg],
      };
    };
    const pairs = {
      bareRs: againstBaseline('bare handler', tokenAt(bareUncached), 'RS256', false),
      bareEs: againstBaseline('bare handler', tokenAt(bareUncached), 'ES256', false),
      bareRsC: againstBaseline('bare handler', tokenAt(bareCached), 'RS256', true),
      bareEsC: againstBaseline('bare handler', tokenAt(bareCached), 'ES256', true),
      hostRs: againstBaseline('local host', tokenAt(host.uncached), 'RS256', false),
      hostRsC: againstBaseline('local host', tokenAt(host.cached), 'RS256', true),
      hostEsC: againstBaseline('local host', tokenAt(host.cached), 'ES256', true),
      health: {
        subject: 'local host, GET /api/health',
        at: { url: `${host.cached.url}/api/health`, pid: host.cached.pid },
        reference: 'node:http, health body',
        base: nodeHealth,
        bodies: [],
      },
    } satisfies Record<string, Pair>;
    type Measurements = { rows: LoadResult[]; bases: LoadResult[] };
    const keys = Object.keys(pairs) as Array<keyof typeof pairs>;
    const m = {} as Record<keyof typeof pairs, Measurements>;
    for (const key of keys) m[key] = { rows: [], bases: [] };
    for (let round = 1; round <= PAIR_ROUNDS; round++) {
      const tag = PAIR_ROUNDS > 1 ? `, round ${round}` : '';
      for (const key of keys) {
        const pair: Pair = pairs[key];
        m[key].bases.push(await run(`${pair.reference}${tag}`, pair.base, pair.bodies));
        m[key].rows.push(await run(`${pair.subject}${tag}`, pair.at, pair.bodies));
      }
    }
    // A last baseline run: how much the machine drifted since the first.
    const baseRsEnd = await run('baseline again (drift check), RS256', baseline, rs);

    const sweep: LoadResult[] = [];
    for (const c of options.sweep) {
      sweep.push(await loadBodies('baseline', baseline.url, rs, c, durationMs));
      sweep.push(await loadBodies('bare handler, cache', tokenAt(bareCached).url, rs, c, durationMs));
      sweep.push(await loadBodies('local host, cache', tokenAt(host.cached).url, rs, c, durationMs));
    }
    return {
      rows,
      sweep,
      pinned,
      ratios: ratios([
        ['bare handler', m.bareRs.rows, 'baseline', m.bareRs.bases, 'RS256, no cache (target ≥ 0.8)'],
        ['bare handler', m.bareEs.rows, 'baseline', m.bareEs.bases, 'ES256, no cache (target ≥ 0.8)'],
        [
          'bare handler',
          m.bareRsC.rows,
          'baseline',
          m.bareRsC.bases,
          'RS256, verified-token cache (target ≥ 2.0)',
        ],
        [
          'bare handler',
          m.bareEsC.rows,
          'baseline',
          m.bareEsC.bases,
          'ES256, verified-token cache (target ≥ 2.0)',
        ],
        [
          'local host',
          m.hostRsC.rows,
          'baseline',
          m.hostRsC.bases,
          'RS256, verified-token cache (target ≥ 0.6)',
        ],
        [
          'local host',
          m.hostEsC.rows,
          'baseline',
          m.hostEsC.bases,
          'ES256, verified-token cache (target ≥ 0.6)',
        ],
        ['local host', m.hostRs.rows, 'baseline', m.hostRs.bases, 'RS256, no cache', 'req/s only'],
        ['local host health', m.health.rows, 'node:http health', m.health.bases, '(host overhead)'],
        [
          'baseline at end',
          [baseRsEnd],
          'at start',
          [m.bareRs.bases[0] as LoadResult],
          '(drift)',
          'req/s only',
        ],
      ]),
    };
  } finally {
    if (PIN) pinTo(process.pid, `0-${os.cpus().length - 1}`);
    for (const server of servers) await server.stop();
    for (const instance of started) {
      instance.child.kill('SIGINT');
      await instance.exited;
    }
  }
}

// `npm run bench`: throughput and latency of the broker on the local Functions host, against the
// sandbox started by the real launcher in a child process; load from autocannon. Loopback only,
// bounded in time (BENCH_DURATION_MS per run, BENCH_CONCURRENCY connections).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { interrupt, launch, whenUp } from '../sandbox/lib/childLauncher.js';
import { trustCertificateAuthority } from '../sandbox/lib/tls.js';
import { createAwsSubjectToken } from '../shared/client/awsSubjectToken.js';
import { WorkloadApiClient } from '../shared/sources/workloadApi.js';
import { coldStartBench } from './coldStart.js';
import { hotPathBench, type LoadResult, loadBodies } from './hotPath.js';
import { lifecycleBench } from './lifecycle.js';
import { peersBench } from './peers.js';
import { writeReport } from './report.js';

// The Node options the deployed app runs with (infra/node-arguments.json, languageWorkers__node__arguments).
const BROKER_NODE_ARGUMENTS = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '..', '..', 'infra', 'node-arguments.json'), 'utf8'),
) as string[];

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const FLOOD_ROUNDS = Number(process.env.BENCH_FLOOD_ROUNDS ?? 200);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 1000);
const SWEEP = (process.env.BENCH_SWEEP ?? '1,4,16,64').split(',').map(Number);
const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface LoadRequest {
  url: string;
  body?: string;
}

/** `CONCURRENCY` keep-alive connections for `DURATION_MS`: a POST of `body`, or a GET without one. */
const load = (name: string, request: LoadRequest): Promise<LoadResult> =>
  loadBodies(name, request.url, request.body === undefined ? [] : [request.body], CONCURRENCY, DURATION_MS);

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

const row = (r: LoadResult) =>
  `${r.name.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   ${r.requests} requests, ${r.errors} errors`;

async function main(): Promise<void> {
  const launched = await launch();
  try {
    const e = await whenUp(launched);
    trustCertificateAuthority(await readFile(e.caCertificate, 'utf8'));
    // Issue 9: an RSA key in the workloads' (EC) trust domain, published before the broker first reads
    // its bundles, so an RS256 SVID can be compared with the ES256 one the agent issues.
    const trustDomainAdmin = `${e.spiffe.callerAgentAdminUrl}/admin/trust-domains/${e.spiffe.trustDomain}`;
    const adminPost = async (route: string, body: unknown) =>
      (await (
        await fetch(`${trustDomainAdmin}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, string>;
    const rsaKid = (await adminPost('/keys', { alg: 'RS256' })).kid;
    const identity = `http://${e.gcp.callerVm.metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity`;
    const callerToken = await (
      await fetch(`${identity}?audience=${e.broker.audience}`, { headers: { 'Metadata-Flavor': 'Google' } })
    ).text();
    const form = (audience: string, scope?: string) =>
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: callerToken,
        audience,
        ...(scope ? { scope } : {}),
      });
    const token = (audience: string, scope?: string) =>
      fetch(e.broker.tokenUrl, { method: 'POST', body: form(audience, scope) });
    const tokenLoad = (audience: string, scope?: string): LoadRequest => ({
      url: e.broker.tokenUrl,
      body: form(audience, scope).toString(),
    });
    const counters = async () =>
      (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
        tenants: Record<string, Record<string, { successes: number }>>;
      };
    const exchanges = async () =>
      Object.values((await counters()).tenants[e.entra.tenantId] ?? {}).reduce(
        (sum, c) => sum + c.successes,
        0,
      );

    const coldStart = performance.now();
    const cold = await token(e.demo.target, e.demo.scope);
    const coldMs = performance.now() - coldStart;
    if (!cold.ok) throw new Error(`warm-up exchange failed with ${cold.status}`);
    const hotPath = await hotPathBench(launched, e, {
      durationMs: DURATION_MS,
      connections: CONCURRENCY,
      callers: CALLERS,
      sweep: SWEEP,
    });

    await load('warm-up', tokenLoad(e.demo.target, e.demo.scope));
    const health = await load('GET /api/health (host round trip)', { url: `${e.broker.url}/api/health` });
    const before = await exchanges();
    const cached = await load('POST /api/token, cached Entra token', tokenLoad(e.demo.target, e.demo.scope));

    // Issue 8: the AWS caller paths in the same run, against the same cached Entra token. A signed
    // GetCallerIdentity is checked by STS on every request (reused within its signing window here).
    const awsForm = (subjectToken: string, subjectTokenType: string): LoadRequest => ({
      url: e.broker.tokenUrl,
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: subjectTokenType,
        subject_token: subjectToken,
        audience: e.demo.target,
        scope: e.demo.scope,
      }).toString(),
    });
    const signedRequest = await createAwsSubjectToken({
      brokerAudience: e.broker.audience,
      region: e.aws.region,
      stsEndpoint: e.aws.stsEndpoint,
      credentials: e.aws.callerRole,
    });
    const { WebIdentityToken: webIdentityToken } = await new STSClient({
      endpoint: e.aws.stsEndpoint,
      region: e.aws.region,
      credentials: e.aws.callerRole,
    }).send(new GetWebIdentityTokenCommand({ Audience: [e.broker.audience], SigningAlgorithm: 'RS256' }));
    const awsIam = await load(
      'POST /api/token, AWS caller (signed request)',
      awsForm(signedRequest, 'urn:ietf:params:aws:token-type:aws4_request'),
    );
    const awsWebIdentity = await load(
      'POST /api/token, AWS caller (web identity JWT)',
      awsForm(webIdentityToken as string, 'urn:ietf:params:oauth:token-type:jwt'),
    );
    const workload = new WorkloadApiClient(e.spiffe.callerSocket);
    const es256Svid = (await workload.fetchJwtSvid(e.broker.audience, 5000)).svid;
    workload.close();
    const now = Math.floor(Date.now() / 1000);
    const rs256Svid = (
      await adminPost('/mint', {
        claims: { sub: e.spiffe.callerId, aud: [e.broker.audience], iat: now, exp: now + 600 },
        kid: rsaKid,
      })
    ).token as string;
    const spiffeEs256 = await load(
      'POST /api/token, SPIFFE caller (ES256 SVID)',
      awsForm(es256Svid, 'urn:ietf:params:oauth:token-type:jwt'),
    );
    const spiffeRs256 = await load(
      'POST /api/token, SPIFFE caller (RS256 SVID)',
      awsForm(rs256Svid, 'urn:ietf:params:oauth:token-type:jwt'),
    );
    const duringCached = (await exchanges()) - before;
    const refused = await load('POST /api/token, refused (wrong target)', tokenLoad('no-such-target'));

    // Issue 7, finding 1: a caller's exchange sent together with two floods of ~16,000 distinct
    // parameter names (under 64 KiB), against the same exchange alone; before the fix each flood
    // took 2-3 s of CPU and held such an exchange for 4-6 s.
    const flood = Array.from({ length: 16_000 }, (_, n) => n.toString(36)).join('&');
    const postFlood = () =>
      fetch(e.broker.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: flood,
      });
    const timed = async (send: () => Promise<Response>) => {
      const started = performance.now();
      const response = await send();
      await response.arrayBuffer();
      return { ms: performance.now() - started, status: response.status };
    };
    const alone: number[] = [];
    const beside: number[] = [];
    const floodMs: number[] = [];
    let floodsRefused = 0;
    for (let round = 0; round < FLOOD_ROUNDS; round += 1) {
      alone.push((await timed(() => token(e.demo.target, e.demo.scope))).ms);
      const [first, second, normal] = await Promise.all([
        timed(postFlood),
        timed(postFlood),
        timed(() => token(e.demo.target, e.demo.scope)),
      ]);
      if (normal.status !== 200) throw new Error(`exchange beside floods failed with ${normal.status}`);
      floodsRefused += Number(first.status === 400) + Number(second.status === 400);
      floodMs.push(first.ms, second.ms);
      beside.push(normal.ms);
    }
    for (const list of [alone, beside, floodMs]) list.sort((a, b) => a - b);

    await fetch(`${e.entra.adminUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: e.entra.tenantId, latencyMs: 500 }),
    });
    const slowEntra = await load(
      'POST /api/token, cached, Entra +500 ms',
      tokenLoad(e.demo.target, e.demo.scope),
    );
    const coldSlowStart = performance.now();
    await token(e.demo.managedIdentityTarget);
    const coldSlowMs = performance.now() - coldSlowStart;
    await fetch(`${e.entra.adminUrl}/faults`, { method: 'DELETE' });
    const lifecycle = await lifecycleBench(launched, e, form);
    // Issue 11: the peers, 100 workloads federating with Entra themselves, against the broker.
    const peers = await peersBench(
      e,
      async (audience) =>
        (
          await fetch(`${identity}?audience=${encodeURIComponent(audience)}&format=full`, {
            headers: { 'Metadata-Flavor': 'Google' },
          })
        ).text(),
      form,
    );
    const coldStartFigures = await coldStartBench(launched, e, form);
    // Issue 11: resident memory of the caches at their named sizes, in a fresh process.
    // Twice: with Node's defaults, and with the young generation capped as infra/ deploys the app
    // (BROKER_NODE_ARGUMENTS): V8 otherwise keeps about 100 MiB of new space committed once it has grown.
    const measureMemory = (flags: string[]) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ['--expose-gc', ...flags, path.join(import.meta.dirname, 'memory.js')],
          {
            encoding: 'utf8',
          },
        ),
      ) as Record<string, number>;
    const memoryDefaults = measureMemory([]);
    const memory = measureMemory(BROKER_NODE_ARGUMENTS);

    console.log(
      `\nBroker benchmark (autocannon): ${CONCURRENCY} connections, ${DURATION_MS} ms per run, loopback, Node ${process.version}\n`,
    );
    for (const r of [health, cached, awsIam, awsWebIdentity, spiffeEs256, spiffeRs256, refused, slowEntra])
      console.log(row(r));
    console.log('');
    console.log(
      `first exchange (caller verify + broker assertion + Entra over https): ${coldMs.toFixed(1)} ms`,
    );
    console.log(
      `first exchange with Entra +500 ms latency:                            ${coldSlowMs.toFixed(1)} ms`,
    );
    console.log(
      `Entra exchanges during ${[cached, awsIam, awsWebIdentity, spiffeEs256, spiffeRs256].reduce((n, r) => n + r.requests, 0)} served requests (GCP, AWS, SPIFFE callers): ${duringCached}`,
    );
    console.log(
      `cached token / health throughput ratio:                              ${(cached.rps / health.rps).toFixed(2)}`,
    );
    console.log(
      `cached p99 with Entra +500 ms / without:                             ${(slowEntra.p99 / cached.p99).toFixed(2)}`,
    );
    console.log(
      `exchange alone:                       p50 ${percentile(alone, 50).toFixed(2)} ms  p99 ${percentile(alone, 99).toFixed(2)} ms  (${FLOOD_ROUNDS} rounds)`,
    );
    console.log(
      `exchange sent with two floods:        p50 ${percentile(beside, 50).toFixed(2)} ms  p99 ${percentile(beside, 99).toFixed(2)} ms`,
    );
    console.log(
      `one flood of ${flood.length} bytes refused in: p50 ${percentile(floodMs, 50).toFixed(2)} ms  p99 ${percentile(floodMs, 99).toFixed(2)} ms  (${floodsRefused}/${2 * FLOOD_ROUNDS} answered 400)`,
    );
    console.log(
      `exchange with floods / alone, p50:                                   ${(percentile(beside, 50) / percentile(alone, 50)).toFixed(2)}`,
    );
    console.log(
      `AWS signed request / GCP caller throughput:                          ${(awsIam.rps / cached.rps).toFixed(2)} (one STS round trip per request)`,
    );
    console.log(
      `AWS web identity JWT / GCP caller throughput:                        ${(awsWebIdentity.rps / cached.rps).toFixed(2)}`,
    );
    console.log(
      `SPIFFE ES256 / RS256 SVID throughput:                                ${(spiffeEs256.rps / spiffeRs256.rps).toFixed(2)}`,
    );
    console.log('\nMany instances (issue 10):');
    for (const line of lifecycle.lines) console.log(line);
    console.log(
      `\nHot path (issue 11): ${CALLERS} distinct caller tokens per kind, ${CONCURRENCY} connections`,
    );
    for (const r of hotPath.rows) console.log(row(r));
    for (const [name, value] of Object.entries(hotPath.ratios.medians))
      console.log(`${name.padEnd(72)} ${value}  (rounds: ${hotPath.ratios.rounds[name]?.join(', ')})`);
    console.log(
      `peers, 100 workloads x 10 requests, Entra +200 ms: ClientAssertionCredential ${peers.peer.entraCallsPer1000} Entra calls per 1,000 requests, p50 ${peers.peer.p50} ms, p99 ${peers.peer.p99} ms; broker ${peers.broker.entraCallsPer1000} per 1,000, p50 ${peers.broker.p50} ms, p99 ${peers.broker.p99} ms`,
    );
    console.log(
      `cold start: function app import ${coldStartFigures.importMs} ms, bundled ${coldStartFigures.bundleImportMs} ms (medians of 3, target < 150); fresh instance spawn to first token ${coldStartFigures.spawnToFirstTokenMs} ms, bundled ${coldStartFigures.bundleSpawnToFirstTokenMs} ms (target < 1000)`,
    );
    console.log(
      `single flight: ${coldStartFigures.singleFlightRequests} concurrent first requests answered 200 with ${coldStartFigures.singleFlightExchanges} Entra exchange(s) (target 1)`,
    );
    console.log(
      `memory, ${memory.entraTokens} Entra tokens + ${memory.verifiedCallers} verified callers: ${memory.rssMiB} MiB resident with ${BROKER_NODE_ARGUMENTS.join(' ')} (target < 200), ${memoryDefaults.rssMiB} MiB with Node's defaults; heap used ${memory.heapUsedMiB} MiB of ${memory.heapTotalMiB} MiB; the caches ${memory.tokenCacheHeapMiB} + ${memory.verifiedCacheHeapMiB} MiB of heap`,
    );
    const written = await writeReport(path.join(ROOT, 'bench', 'results'), {
      settings: {
        durationMs: DURATION_MS,
        connections: CONCURRENCY,
        callers: CALLERS,
        sweep: SWEEP,
        pairRounds: hotPath.ratios.rounds[Object.keys(hotPath.ratios.rounds)[0] ?? '']?.length,
        serversPinned: hotPath.pinned,
      },
      rows: [
        ...hotPath.rows,
        health,
        cached,
        awsIam,
        awsWebIdentity,
        spiffeEs256,
        spiffeRs256,
        refused,
        slowEntra,
      ],
      ratios: hotPath.ratios.medians,
      ratioRounds: hotPath.ratios.rounds,
      sweep: hotPath.sweep,
      figures: {
        'first exchange, ms': Math.round(coldMs * 10) / 10,
        'first exchange with Entra +500 ms, ms': Math.round(coldSlowMs * 10) / 10,
        'Entra exchanges while serving cached requests': duringCached,
        'cold start: function app import, ms (target < 150)': coldStartFigures.importMs,
        'cold start: bundled function app import, ms (target < 150)': coldStartFigures.bundleImportMs,
        'cold start: bundled instance spawn to first token, ms (target < 1000)':
          coldStartFigures.bundleSpawnToFirstTokenMs,
        'cold start: fresh instance spawn to first token, ms (target < 1000)':
          coldStartFigures.spawnToFirstTokenMs,
        'single flight: concurrent first requests answered 200': coldStartFigures.singleFlightRequests,
        'single flight: Entra exchanges (target 1)': coldStartFigures.singleFlightExchanges,
        'peers: Entra calls per 1,000 requests, ClientAssertionCredential': peers.peer.entraCallsPer1000,
        'peers: Entra calls per 1,000 requests, broker (target: 50 times fewer)':
          peers.broker.entraCallsPer1000,
        'peers: p50 / p99 ms, ClientAssertionCredential': `${peers.peer.p50} / ${peers.peer.p99}`,
        'peers: p50 / p99 ms, broker (target: p50 < 5 ms)': `${peers.broker.p50} / ${peers.broker.p99}`,
        [`memory: rssMiB with ${BROKER_NODE_ARGUMENTS.join(' ')}, as deployed (target < 200)`]:
          memory.rssMiB ?? Number.NaN,
        'memory: rssMiB with Node defaults': memoryDefaults.rssMiB ?? Number.NaN,
        ...Object.fromEntries(
          Object.entries(memory)
            .filter(([name]) => name !== 'rssMiB')
            .map(([name, value]) => [
              `memory: ${name}`,
              typeof value === 'object' ? JSON.stringify(value) : value,
            ]),
        ),
        ...Object.fromEntries(lifecycle.lines.map((line) => line.split(/:\s+/, 2) as [string, string])),
      },
    });
    console.log(`\nwritten: ${written.map((file) => path.relative(ROOT, file)).join(', ')}`);
    console.log('');
    console.log('reference (perf-reliability.md §0): bare node:http + RS256 verify ~9.4k req/s on one core;');
    console.log(
      'this run adds the Functions invocation model, the policy, the audit line, and a client on the same 2 cores.\n',
    );
  } finally {
    await interrupt(launched);
  }
}

main().catch((error: unknown) => {
  console.error(`benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

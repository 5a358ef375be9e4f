// Issue 11's cold start and single flight: the function app's import time in a fresh process, a fresh
// broker instance from spawn to its first granted token, and 1,000 concurrent first requests for one
// target through one fresh instance (Entra exchanges counted by the stand-in).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Launched, launchInstance } from '../sandbox/lib/childLauncher.js';
import type { SandboxEndpoints } from '../sandbox/sandbox.js';

export interface ColdStartFigures {
  importMs: number;
  bundleImportMs: number;
  bundleSpawnToFirstTokenMs: number;
  spawnToFirstTokenMs: number;
  singleFlightRequests: number;
  singleFlightExchanges: number;
}

/** Milliseconds to import every function file of `dir` (under dist/), measured inside a fresh Node process. */
function importTime(dir: string): number {
  const functions = path.resolve(import.meta.dirname, '..', dir);
  const script = `const t = performance.now();
for (const f of ['health.js', 'token.js', 'refreshTokens.js']) await import(${JSON.stringify(`${functions}/`)} + f);
process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TOKEN_REFRESH_SCHEDULE: '0 */5 * * * *' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Math.round(Number(out) * 10) / 10;
}

export async function coldStartBench(
  launched: Launched,
  e: SandboxEndpoints,
  form: (audience: string, scope?: string) => URLSearchParams,
): Promise<ColdStartFigures> {
  const median = (run: () => number) => [run(), run(), run()].sort((a, b) => a - b)[1] as number;
  const importMs = median(() => importTime('functions'));
  const bundleImportMs = median(() => importTime('bundle/functions'));
  // The bundled app (npm run bundle) from spawn to its first token.
  const bundleSpawned = performance.now();
  const bundled = await launchInstance(launched, { TOKEN_CACHE_KEYS: null }, 30_000, {
    SANDBOX_APP_ROOT: 'dist/bundle',
  });
  let bundleSpawnToFirstTokenMs: number;
  try {
    const first = await fetch(`${bundled.url}/api/token`, {
      method: 'POST',
      body: form(e.demo.target, e.demo.scope),
    });
    await first.arrayBuffer();
    if (!first.ok) throw new Error(`the bundled instance answered ${first.status}`);
    bundleSpawnToFirstTokenMs = Math.round(performance.now() - bundleSpawned);
  } finally {
    bundled.child.kill('SIGINT');
    await bundled.exited;
  }
  const exchanges = async () => {
    const counters = (await (await fetch(`${e.entra.adminUrl}/counters`)).json()) as {
      tenants: Record<string, Record<string, { successes: number }>>;
    };
    return Object.values(counters.tenants[e.entra.tenantId] ?? {}).reduce((sum, c) => sum + c.successes, 0);
  };
  // Without the shared tier, so the instance's first request and the 1,000 below reach Entra.
  const spawned = performance.now();
  // The compiler's output (dist/functions, with the published @azure/functions), not the bundle.
  const instance = await launchInstance(launched, { TOKEN_CACHE_KEYS: null }, 30_000, {
    SANDBOX_APP_ROOT: '.',
  });
  try {
    const first = await fetch(`${instance.url}/api/token`, {
      method: 'POST',
      body: form(e.demo.target, e.demo.scope),
    });
    await first.arrayBuffer();
    const spawnToFirstTokenMs = Math.round(performance.now() - spawned);
    if (!first.ok) throw new Error(`the fresh instance answered ${first.status}`);
    const before = await exchanges();
    const answers = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const response = await fetch(`${instance.url}/api/token`, {
          method: 'POST',
          body: form(e.demo.target, 'https://storage.azure.com/.default'),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    return {
      importMs,
      bundleImportMs,
      bundleSpawnToFirstTokenMs,
      spawnToFirstTokenMs,
      singleFlightRequests: answers.filter((status) => status === 200).length,
      singleFlightExchanges: (await exchanges()) - before,
    };
  } finally {
    instance.child.kill('SIGINT');
    await instance.exited;
  }
}

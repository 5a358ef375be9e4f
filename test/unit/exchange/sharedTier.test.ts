// The shared cache tier against Azurite, the real storage emulator: instances (SharedTier objects on one
// account) fetch a key once between them, a cold one reads what another stored, a dead holder's lease
// runs out and another takes over, and storage that fails or goes away falls back to the instance's
// own fetch with one warning, never a failed fetch.
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAzurite, startAzurite } from '../../../sandbox/lib/azurite.js';
import { freePorts } from '../../../sandbox/lib/childLauncher.js';
import { createBlobStore } from '../../../shared/exchange/blobStore.js';
import type { EntraToken } from '../../../shared/exchange/entraClient.js';
import { type SharedStore, SharedTier, type SharedTierOptions } from '../../../shared/exchange/sharedTier.js';
import { Keyring } from '../../../shared/exchange/tokenSeal.js';

const HOUR = 3_600_000;
const clock = { now: () => Date.now() };
const keyring = new Keyring([{ version: 'v1', key: randomBytes(32) }]);

function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const push = (line: unknown) => lines.push(JSON.parse(String(line)));
  return { lines, info: push, warn: push, error: push, events: () => lines.map((line) => line.event) };
}

let azurite: RunningAzurite;
let container = 0;

beforeAll(async () => {
  const [blob, queue, table] = await freePorts(3);
  azurite = await startAzurite({ blob: blob as number, queue: queue as number, table: table as number });
});
afterAll(async () => {
  await azurite?.stop();
});

/** The blob store on container `name` of the test's Azurite (a fresh one unless named). */
const blobStore = (name = `tier${++container}`): SharedStore =>
  createBlobStore({ connectionString: azurite.connectionString, container: name, timeoutMs: 2000 });

/** A tier on container `name`, as one broker instance would build it. */
function instance(name: string, store?: SharedStore, options: Partial<SharedTierOptions> = {}) {
  return new SharedTier({
    store: store ?? blobStore(name),
    keyring,
    clock,
    leaseSeconds: 15,
    downForMs: 30_000,
    pollMs: 50,
    ...options,
  });
}

function entra(delayMs = 50) {
  let calls = 0;
  const fetcher = async (): Promise<EntraToken> => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return {
      accessToken: `entra-token-${calls}-${randomBytes(8).toString('hex')}`,
      expiresAtMs: Date.now() + HOUR,
    };
  };
  return { fetcher, calls: () => calls };
}

const KEY = JSON.stringify(['tenant', 'client', 'https://vault.azure.net/.default']);

describe('SharedTier on Azurite', () => {
  it('lets two instances asking at once call Entra once between them, and a cold third none', async () => {
    const name = `tier${++container}`;
    const [a, b, c] = [instance(name), instance(name), instance(name)];
    const upstream = entra(300);
    const log = recordingLog();
    const [first, second] = await Promise.all([
      a.fetch(KEY, upstream.fetcher, 300_000, log),
      b.fetch(KEY, upstream.fetcher, 300_000, log),
    ]);
    expect(upstream.calls()).toBe(1);
    expect(second.token.accessToken).toBe(first.token.accessToken);
    expect([first.origin, second.origin].sort()).toEqual(['entra', 'shared']);
    expect(first.contended || second.contended).toBe(true);

    const cold = await c.fetch(KEY, upstream.fetcher, 300_000, log);
    expect(cold).toMatchObject({ origin: 'shared', contended: false, token: first.token });
    expect(upstream.calls()).toBe(1);
    expect(log.events()).toEqual([]);
  });

  it('stores the token sealed: the blob holds neither the token nor the cache key', async () => {
    const name = `tier${++container}`;
    const upstream = entra();
    const { token } = await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog());
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
    const names: string[] = [];
    for await (const blob of blobs.listBlobsFlat()) names.push(blob.name);
    expect(names).toEqual([SharedTier.blobName(KEY)]);
    const body = (await blobs.getBlockBlobClient(SharedTier.blobName(KEY)).downloadToBuffer()).toString();
    expect(body).not.toContain(token.accessToken);
    expect(body).not.toContain('vault.azure.net');
    expect(JSON.parse(body)).toMatchObject({ v: 1, k: 'v1', exp: token.expiresAtMs });
  });

  it('fetches again when the shared token would not last the horizon asked for', async () => {
    const name = `tier${++container}`;
    const upstream = entra();
    await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog());
    const later = await instance(name).fetch(KEY, upstream.fetcher, HOUR + 1000, recordingLog());
    expect(later.origin).toBe('entra');
    expect(upstream.calls()).toBe(2);
  });

  it('hands over when the lease holder dies: another instance takes the key within the lease period', async () => {
    const name = `tier${++container}`;
    const store = blobStore(name);
    // The "dead" holder: it took the lease and never wrote or released.
    const held = await store.acquire(SharedTier.blobName(KEY), 15);
    expect(held).toEqual(expect.any(String));
    const upstream = entra();
    const started = Date.now();
    const result = await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog());
    const waited = Date.now() - started;
    expect(result).toMatchObject({ origin: 'entra', contended: true });
    expect(upstream.calls()).toBe(1);
    expect(waited).toBeGreaterThan(10_000);
    expect(waited).toBeLessThan(17_000);
  }, 30_000);

  it('ignores a blob sealed under a key it does not hold, and replaces it', async () => {
    const name = `tier${++container}`;
    const upstream = entra();
    await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog());
    const other = new SharedTier({
      ...instance(name).options,
      keyring: new Keyring([{ version: 'v9', key: randomBytes(32) }]),
    });
    const log = recordingLog();
    const result = await other.fetch(KEY, upstream.fetcher, 300_000, log);
    expect(result.origin).toBe('entra');
    expect(log.lines).toEqual([{ event: 'shared_cache.unreadable', reason: 'unknown_key_version' }]);
    const again = await other.fetch(KEY, upstream.fetcher, 300_000, recordingLog());
    expect(again).toMatchObject({ origin: 'shared', token: result.token });
  });
});

describe('the blob store', () => {
  it('reads no blob past 64 KiB (a planted one is treated as unreadable and replaced)', async () => {
    const name = `tier${++container}`;
    const store = blobStore(name);
    await store.probe();
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
    await blobs.createIfNotExists();
    const planted = JSON.stringify({ v: 1, k: 'v1', pad: 'x'.repeat(1024 * 1024) });
    await blobs.getBlockBlobClient(SharedTier.blobName(KEY)).upload(planted, planted.length);
    const small = JSON.stringify({ v: 1, k: 'v1', pad: 'x'.repeat(1000) });
    await blobs.getBlockBlobClient('small').upload(small, small.length);

    expect(await store.read(SharedTier.blobName(KEY))).toEqual({ malformed: true });
    expect(await store.read('small')).toEqual(JSON.parse(small));
    const upstream = entra();
    expect((await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog())).origin).toBe('entra');
    expect((await instance(name).fetch(KEY, upstream.fetcher, 300_000, recordingLog())).origin).toBe(
      'shared',
    );
  });
});

describe('SharedTier when storage fails', () => {
  it('falls back to its own fetch, warns once, leaves storage alone, and says when it is back', async () => {
    const [deadPort] = await freePorts(1);
    const down = createBlobStore({
      connectionString: azurite.connectionString.replace(
        /BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/,
        `BlobEndpoint=http://127.0.0.1:${deadPort}`,
      ),
      container: 'unreachable',
      timeoutMs: 500,
    });
    let broken = true;
    let storageCalls = 0;
    const up = blobStore();
    const flaky: SharedStore = Object.fromEntries(
      (['read', 'write', 'acquire', 'release', 'probe'] as const).map((op) => [
        op,
        (...args: unknown[]) => {
          storageCalls++;
          return (broken ? down : up)[op](...(args as [never, never, never]));
        },
      ]),
    ) as unknown as SharedStore;
    const tier = instance('unused', flaky, { probeReuseMs: 0 });
    const upstream = entra();
    const log = recordingLog();

    const first = await tier.fetch(KEY, upstream.fetcher, 300_000, log);
    expect(first.origin).toBe('entra');
    expect(tier.failing).toBe(true);
    expect(log.lines).toEqual([
      { event: 'shared_cache.unavailable', operation: 'read', errorName: expect.any(String) },
    ]);
    const callsWhenDown = storageCalls;
    await tier.fetch(KEY, upstream.fetcher, 300_000, log);
    expect(storageCalls).toBe(callsWhenDown);
    expect(upstream.calls()).toBe(2);
    expect(await tier.check(log)).toBe(false);
    expect(log.events()).toEqual(['shared_cache.unavailable']);

    broken = false;
    expect(await tier.check(log)).toBe(true);
    expect(tier.failing).toBe(false);
    expect(log.events()).toEqual(['shared_cache.unavailable', 'shared_cache.recovered']);
    expect((await tier.fetch(KEY, upstream.fetcher, 300_000, log)).origin).toBe('entra');
    expect((await tier.fetch(KEY, upstream.fetcher, 300_000, log)).origin).toBe('shared');
  });

  it('keeps the token it fetched when the write fails, and passes Entra failures through untouched', async () => {
    const store = blobStore();
    const failingWrite: SharedStore = { ...store, write: async () => Promise.reject(new Error('boom')) };
    const log = recordingLog();
    const upstream = entra();
    const result = await instance('unused', failingWrite).fetch(KEY, upstream.fetcher, 300_000, log);
    expect(result.origin).toBe('entra');
    expect(log.lines).toEqual([
      { event: 'shared_cache.unavailable', operation: 'write', errorName: 'Error' },
    ]);

    const refused = new Error('Entra refused');
    const tier = instance('unused', store);
    await expect(tier.fetch(KEY, () => Promise.reject(refused), HOUR * 2, log)).rejects.toBe(refused);
    expect(tier.failing).toBe(false);
  });

  it('probes storage once for a burst of readiness checks, and reuses the answer for 5 s', async () => {
    const time = { t: Date.now() };
    let probes = 0;
    const store = blobStore();
    const counting: SharedStore = {
      ...store,
      probe: () => {
        probes++;
        return store.probe();
      },
    };
    const tier = instance('unused', counting, { clock: { now: () => time.t } });
    const log = recordingLog();

    const burst = await Promise.all(Array.from({ length: 50 }, () => tier.check(log)));
    const later = await tier.check(log);
    const probesWithin = probes;
    time.t += 5000;
    const after = await tier.check(log);

    expect([...burst, later, after].every((ok) => ok)).toBe(true);
    expect(probesWithin).toBe(1);
    expect(probes).toBe(2);
  });
});

// The JWKS resolver over a real loopback endpoint: single fetch, stale-if-error past jose's cache
// age with a retry backoff, and a clear unavailable error once the stale window is over.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors as jwtErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createJwksResolver,
  type JwksResolverOptions,
  JwksUnavailableError,
} from '../../../shared/callers/jwksResolver.js';
import { createTestSigner, type TestSigner } from '../../helpers/signer.js';

let signer: TestSigner;
let server: http.Server;
let url: URL;
let fetches = 0;
const paths: string[] = [];
let failing = false;
/** When set, answers instead of the signer's key set. */
let answer: ((res: http.ServerResponse) => void) | undefined;

beforeAll(async () => {
  signer = await createTestSigner();
  server = http.createServer((req, res) => {
    fetches++;
    paths.push(req.url ?? '');
    if (failing) {
      res.writeHead(503).end('down');
      return;
    }
    if (answer) {
      answer(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(signer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`);
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  fetches = 0;
  paths.length = 0;
  failing = false;
  answer = undefined;
});

const token = () => signer.sign({ sub: '1', iat: Math.floor(Date.now() / 1000) });
/** A resolver for the test endpoint: a minute's cache and stale window, a 30 s cooldown, the machine's clock. */
const resolver = (overrides: Partial<JwksResolverOptions> = {}) =>
  createJwksResolver(url, {
    cacheMaxAgeMs: 60_000,
    cooldownMs: 30_000,
    timeoutMs: 2000,
    staleMaxAgeMs: 60_000,
    clock: { now: () => Date.now() },
    ...overrides,
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createJwksResolver', () => {
  it('fetches once for concurrent cold verifications', async () => {
    const keys = resolver();
    const jwt = await token();

    await Promise.all(Array.from({ length: 50 }, () => jwtVerify(jwt, keys)));

    expect(fetches).toBe(1);
  });

  it('keeps verifying known keys with the last good set when the endpoint fails past the cache age', async () => {
    const keys = resolver({ cacheMaxAgeMs: 20, cooldownMs: 5000 });
    const jwt = await token();
    await jwtVerify(jwt, keys);
    failing = true;
    await sleep(40);

    const first = await jwtVerify(jwt, keys);
    const fetchesAfterFirst = fetches;
    await Promise.all([jwtVerify(jwt, keys), jwtVerify(jwt, keys), jwtVerify(jwt, keys)]);

    expect(first.payload.sub).toBe('1');
    // One failed refetch, then the backoff serves the stale set without asking again.
    expect(fetchesAfterFirst).toBe(2);
    expect(fetches).toBe(2);
  });

  it('tells the set it answers from only while it would answer from it without fetching or falling back', async () => {
    // Only Date is faked: jose times its cache with Date.now, and the fetches still need real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const keys = resolver({ cacheMaxAgeMs: 60_000, cooldownMs: 5000, staleMaxAgeMs: 3_600_000 });
      const jwt = await token();
      expect(keys.currentSet?.()).toBeUndefined(); // nothing fetched yet

      await jwtVerify(jwt, keys);
      const set = keys.currentSet?.();
      expect(set).toBeDefined();
      vi.setSystemTime(Date.now() + 59_000);
      await jwtVerify(jwt, keys);
      expect(keys.currentSet?.()).toBe(set); // no fetch: the same set

      vi.setSystemTime(Date.now() + 2_000); // past the cache age: the next call would fetch
      expect(keys.currentSet?.()).toBeUndefined();
      await jwtVerify(jwt, keys);
      const refetched = keys.currentSet?.();
      expect(refetched).toBeDefined();
      expect(refetched).not.toBe(set); // a refetch is a new set, even with the same keys

      vi.setSystemTime(Date.now() + 61_000);
      failing = true;
      await jwtVerify(jwt, keys); // the refetch fails: the last good set stands in
      expect(keys.currentSet?.()).toBeUndefined(); // during the failure pause, nothing is recalled
      expect(fetches).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives up with JwksUnavailableError once the last good set is older than the stale window', async () => {
    const time = { t: Date.now() };
    const keys = resolver({
      cacheMaxAgeMs: 20,
      cooldownMs: 10,
      staleMaxAgeMs: 1000,
      clock: { now: () => time.t },
    });
    const jwt = await token();
    await jwtVerify(jwt, keys);
    failing = true;
    await sleep(40);
    time.t += 5000;

    const error = await jwtVerify(jwt, keys).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JwksUnavailableError);
    expect(String((error as Error).message)).toBe('the signing keys could not be fetched');
  });

  it('fails without a set when the endpoint was never reachable', async () => {
    failing = true;
    const keys = resolver({ cooldownMs: 10 });

    await expect(jwtVerify(await token(), keys)).rejects.toBeInstanceOf(JwksUnavailableError);
  });

  it('never fetches what the token names (jku, x5u), only the configured URL (RFC 8725 §3.10)', async () => {
    const keys = resolver();
    const attacker = `${url.origin}/attacker-jwks`;
    const forged = await signer.sign(
      { sub: 'admin', iat: Math.floor(Date.now() / 1000) },
      { kid: 'attacker', jku: attacker, x5u: attacker },
    );

    await expect(jwtVerify(forged, keys)).rejects.toThrow();

    expect(paths.every((p) => p === '/certs')).toBe(true);
    expect(paths.length).toBeGreaterThan(0);
  });

  it('asks a failing endpoint once per pause when it has no set to fall back on, whatever callers send', async () => {
    failing = true;
    const time = { t: Date.now() };
    const keys = resolver({ clock: { now: () => time.t } });
    const jwt = await token();

    const errors = await Promise.all(
      Array.from({ length: 20 }, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return jwtVerify(jwt, keys).catch((e: unknown) => e);
      }),
    );
    for (let i = 0; i < 20; i++) errors.push(await jwtVerify(jwt, keys).catch((e: unknown) => e));
    const duringPause = fetches;
    time.t += 5001;
    failing = false;
    const after = await jwtVerify(jwt, keys);

    expect(errors.every((e) => e instanceof JwksUnavailableError)).toBe(true);
    expect(duringPause).toBe(1);
    expect(after.payload.sub).toBe('1');
    expect(fetches).toBe(2);
  });

  it.each([
    [
      'larger than 256 KiB',
      (res: http.ServerResponse) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ...signer.jwks, padding: 'x'.repeat(300 * 1024) })),
    ],
    [
      'with more than 100 keys',
      (res: http.ServerResponse) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            keys: [
              ...signer.jwks.keys,
              ...Array.from({ length: 100 }, (_, i) => ({ ...signer.jwks.keys[0], kid: `extra-${i}` })),
            ],
          }),
        ),
    ],
    [
      'that never ends',
      (res: http.ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const more = () => {
          while (!res.destroyed && res.write(' '.repeat(16_384)));
        };
        res.on('drain', more);
        more();
      },
    ],
  ])('refuses a key set %s, as an endpoint fault', async (_name, serve) => {
    answer = serve;
    const keys = resolver({ timeoutMs: 4000 });

    const error = await jwtVerify(await token(), keys).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JwksUnavailableError);
    // Refused at the cap (JWKSInvalid), not at the timeout (JWKSTimeout).
    expect((error as Error).cause).toBeInstanceOf(jwtErrors.JWKSInvalid);
  });
});

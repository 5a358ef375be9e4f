// The Entra token cache: single flight, refresh-ahead, stale-on-error, Retry-After, LRU bound.
import { describe, expect, it } from 'vitest';
import type { EntraToken } from '../../../shared/exchange/entraClient.js';
import {
  ShortLivedTokenError,
  TokenCache,
  TokenCacheBlockedError,
} from '../../../shared/exchange/tokenCache.js';

const MINUTE = 60_000;

function setup(maxEntries = 100) {
  const clock = { t: 1_000_000, now: () => clock.t };
  const cache = new TokenCache<EntraToken>({
    clock,
    refreshBeforeMs: 5 * MINUTE,
    minRemainingMs: MINUTE,
    maxEntries,
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    random: () => 0.5,
  });
  let calls = 0;
  const pending: Array<{ resolve: (t: EntraToken) => void; reject: (e: unknown) => void }> = [];
  const fetcher = () => {
    calls++;
    return new Promise<EntraToken>((resolve, reject) => pending.push({ resolve, reject }));
  };
  const token = (name: string, lifetimeMs = 60 * MINUTE): EntraToken => ({
    accessToken: name,
    expiresAtMs: clock.t + lifetimeMs,
  });
  return { clock, cache, fetcher, token, pending, calls: () => calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TokenCache', () => {
  it('makes one upstream call for 500 concurrent cold requests and gives all the same token (F1)', async () => {
    const { cache, fetcher, token, pending, calls } = setup();

    const results = Array.from({ length: 500 }, () => cache.get('k', fetcher));
    pending[0]?.resolve(token('t1'));
    const tokens = await Promise.all(results);

    expect(calls()).toBe(1);
    expect(new Set(tokens.map((r) => r.token.accessToken))).toEqual(new Set(['t1']));
    expect(tokens.every((r) => r.from === 'miss')).toBe(true);
  });

  it('keeps keys apart (F2)', async () => {
    const { cache, token, calls, fetcher, pending } = setup();
    const a = cache.get(TokenCache.key('t', 'c', 'https://vault.azure.net/.default'), fetcher);
    const b = cache.get(TokenCache.key('t', 'c', 'https://graph.microsoft.com/.default'), fetcher);
    pending[0]?.resolve(token('vault'));
    pending[1]?.resolve(token('graph'));

    expect([(await a).token.accessToken, (await b).token.accessToken]).toEqual(['vault', 'graph']);
    expect(calls()).toBe(2);
  });

  it('serves from cache until the refresh window, then refreshes in the background without waiting (F3)', async () => {
    const { clock, cache, fetcher, token, pending, calls } = setup();
    const first = cache.get('k', fetcher);
    pending[0]?.resolve(token('old'));
    await first;

    clock.t += 50 * MINUTE;
    expect(await cache.get('k', fetcher)).toEqual({
      token: expect.objectContaining({ accessToken: 'old' }),
      from: 'hit',
    });
    expect(calls()).toBe(1);

    clock.t += 6 * MINUTE; // 4 minutes left: inside refreshBefore (5), outside minRemaining (1)
    const during = await cache.get('k', fetcher);
    expect(during).toEqual({ token: expect.objectContaining({ accessToken: 'old' }), from: 'hit' });
    expect(calls()).toBe(2);

    pending[1]?.resolve(token('new'));
    await settle();
    expect((await cache.get('k', fetcher)).token.accessToken).toBe('new');
  });

  it('keeps serving the valid token when a background refresh fails, reports it, and backs off (F4)', async () => {
    const { clock, cache, fetcher, token, pending, calls } = setup();
    const reported: unknown[] = [];
    const first = cache.get('k', fetcher);
    pending[0]?.resolve(token('old'));
    await first;
    clock.t += 56 * MINUTE;

    await cache.get('k', fetcher, (error) => reported.push(error));
    pending[1]?.reject(new Error('Entra 503'));
    await settle();
    const during = await Promise.all(Array.from({ length: 100 }, () => cache.get('k', fetcher)));

    expect(reported).toEqual([new Error('Entra 503')]);
    expect(during.every((r) => r.token.accessToken === 'old')).toBe(true);
    expect(calls()).toBe(2);
  });

  it('never hands out a token with less than minRemaining left (F7)', async () => {
    const { clock, cache, fetcher, token, pending } = setup();
    const first = cache.get('k', fetcher);
    pending[0]?.resolve(token('old'));
    await first;
    clock.t += 59.5 * MINUTE;

    const next = cache.get('k', fetcher);
    pending[1]?.reject(new Error('Entra down'));

    await expect(next).rejects.toThrow('Entra down');
  });

  it('pauses a key for Retry-After after throttling, then asks again (F5)', async () => {
    const { clock, cache, fetcher, pending, token, calls } = setup();
    const first = cache.get('k', fetcher);
    pending[0]?.reject(Object.assign(new Error('429'), { retryAfterSeconds: 60 }));
    await expect(first).rejects.toThrow('429');

    clock.t += 30_000;
    const blocked = await cache.get('k', fetcher).catch((error: unknown) => error);
    expect(blocked).toBeInstanceOf(TokenCacheBlockedError);
    expect((blocked as TokenCacheBlockedError).retryAfterSeconds).toBe(30);
    expect(calls()).toBe(1);

    clock.t += 31_000;
    const again = cache.get('k', fetcher);
    pending[1]?.resolve(token('after'));
    expect((await again).token.accessToken).toBe('after');
    expect(calls()).toBe(2);
  });

  it('pauses a key after a failure without Retry-After, replays that failure, and doubles the pause (F8, F9)', async () => {
    const { clock, cache, fetcher, pending, token, calls } = setup();
    const refusal = new Error('AADSTS700213');
    const first = cache.get('k', fetcher);
    pending[0]?.reject(refusal);
    await expect(first).rejects.toBe(refusal);

    // Equal jitter with random 0.5: 750 ms after the first failure.
    clock.t += 700;
    const replayed = await cache.get('k', fetcher).catch((error: unknown) => error);
    expect(replayed).toBeInstanceOf(TokenCacheBlockedError);
    expect((replayed as TokenCacheBlockedError).lastError).toBe(refusal);
    expect(calls()).toBe(1);

    clock.t += 100;
    const second = cache.get('k', fetcher);
    pending[1]?.reject(refusal);
    await expect(second).rejects.toBe(refusal);
    clock.t += 1400; // the second pause is 1500 ms
    await expect(cache.get('k', fetcher)).rejects.toBeInstanceOf(TokenCacheBlockedError);
    clock.t += 200;
    const third = cache.get('k', fetcher);
    pending[2]?.resolve(token('finally'));

    expect((await third).token.accessToken).toBe('finally');
    expect(calls()).toBe(3);
  });

  it('refuses a freshly fetched token that is already inside the safety margin', async () => {
    const { cache, fetcher, pending, token } = setup();
    const first = cache.get('k', fetcher);
    pending[0]?.resolve(token('short', 30_000));

    const error = await first.catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ShortLivedTokenError);
    expect((error as ShortLivedTokenError).remainingSeconds).toBe(30);
  });

  it('never evicts an entry whose fetch is in flight, so single flight holds', async () => {
    const { cache, fetcher, pending, token, calls } = setup(1);
    const a1 = cache.get('a', fetcher);
    const b = cache.get('b', fetcher);
    const a2 = cache.get('a', fetcher);
    pending[0]?.resolve(token('a'));
    pending[1]?.resolve(token('b'));

    expect([(await a1).token.accessToken, (await a2).token.accessToken, (await b).token.accessToken]).toEqual(
      ['a', 'a', 'b'],
    );
    expect(calls()).toBe(2);
  });

  it('evicts the least recently used key past maxEntries (F12)', async () => {
    const { cache, token } = setup(2);
    const immediate = (name: string) => () => Promise.resolve(token(name));
    await cache.get('a', immediate('a'));
    await cache.get('b', immediate('b'));
    await cache.get('a', immediate('a2'));
    await cache.get('c', immediate('c'));

    expect(cache.size).toBe(2);
    expect((await cache.get('a', immediate('a3'))).token.accessToken).toBe('a');
    expect((await cache.get('b', immediate('b2'))).from).toBe('miss');
  });

  it('answers ready() only with a token get() would hand out without a refresh, and marks it most recent', async () => {
    const { clock, cache, token } = setup(2);
    const immediate = (name: string) => () => Promise.resolve(token(name));
    expect(cache.ready('a')).toBeUndefined();
    expect(cache.size).toBe(0); // asking created nothing
    await cache.get('a', immediate('a'));
    await cache.get('b', immediate('b'));

    expect(cache.ready('a')?.accessToken).toBe('a');
    await cache.get('c', immediate('c')); // evicts b: ready() made a the most recent
    expect(cache.ready('b')).toBeUndefined();
    expect(cache.ready('a')?.accessToken).toBe('a');

    clock.t += 55 * MINUTE + 1; // inside the refresh window: get() would start a refresh
    expect(cache.ready('a')).toBeUndefined();
    expect((await cache.get('a', immediate('a-refreshed'))).token.accessToken).toBe('a');
    await settle();
    expect(cache.ready('a')?.accessToken).toBe('a-refreshed');
  });

  it('keeps a key asked for several times in a row the most recent, and one evicted meanwhile a miss', async () => {
    const { cache, token } = setup(2);
    const immediate = (name: string) => () => Promise.resolve(token(name));
    await cache.get('a', immediate('a'));
    await cache.get('b', immediate('b'));
    for (let i = 0; i < 3; i++) await cache.get('a', immediate('a-again'));
    await cache.get('c', immediate('c')); // evicts b: a was asked for after it
    expect((await cache.get('a', immediate('a-lost'))).from).toBe('hit');
    await cache.get('c', immediate('c-again'));
    await cache.get('d', immediate('d')); // evicts a, the least recent after c

    expect((await cache.get('b', immediate('b2'))).from).toBe('miss');
    expect((await cache.get('b', immediate('b3'))).token.accessToken).toBe('b2');
    expect((await cache.get('a', immediate('a2'))).token.accessToken).toBe('a2');
  });

  it('evicts down to maxEntries once a fetch in flight ends, while the same key is asked for again', async () => {
    const { cache, fetcher, pending, token } = setup(1);
    const immediate = (name: string) => () => Promise.resolve(token(name));
    const a = cache.get('a', fetcher); // in flight: kept past maxEntries
    await cache.get('b', immediate('b'));
    expect(cache.size).toBe(2);
    pending[0]?.resolve(token('a'));
    await a;

    await cache.get('b', immediate('b2'));

    expect(cache.size).toBe(1);
    expect((await cache.get('b', immediate('b3'))).token.accessToken).toBe('b');
  });
});

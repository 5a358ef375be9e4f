// The kubelet-style token file: atomic layout, refresh on the kubelet's schedule, rotation, failure handling.
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type KubernetesIssuer,
  startKubernetesIssuer,
} from '../../../sandbox/kubernetes/kubernetesIssuer.js';
import { kubeletRefreshAt, startProjectedTokenFile } from '../../../sandbox/kubernetes/projectedTokenFile.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const REQUEST = {
  namespace: 'payments',
  serviceAccount: 'broker-client',
  pod: { name: 'client-7d9f', uid: '0f3c1d2e-1111-4222-8333-444455556666' },
  audiences: ['api://AzureADTokenExchange'],
};
const TIMESTAMPED = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\w+$/;

describe('projected service-account token file', () => {
  let issuer: KubernetesIssuer;
  let root: string;
  let counter = 0;
  /** A fresh volume directory per projection, as each pod gets its own. */
  const newVolume = (): string => {
    counter += 1;
    return path.join(root, `volume-${counter}`);
  };

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    issuer = await startKubernetesIssuer({ issuer: ISSUER, tls: await ca.issue(['127.0.0.1']) });
    root = await mkdtemp(path.join(tmpdir(), 'k8s-token-'));
  });
  afterAll(async () => {
    await issuer.close();
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lays the token out as the kubelet does: token -> ..data/token, ..data -> ..<timestamp>', async () => {
    const volume = newVolume();
    const file = await startProjectedTokenFile({ issuer, path: path.join(volume, 'token'), ...REQUEST });
    try {
      const entries = (await readdir(volume)).sort();
      const dataTarget = await readlink(path.join(volume, '..data'));

      expect((await lstat(file.path)).isSymbolicLink()).toBe(true);
      expect(await readlink(file.path)).toBe('..data/token');
      expect(dataTarget).toMatch(TIMESTAMPED);
      expect(entries).toEqual([dataTarget, '..data', 'token']);
      expect((await stat(path.join(volume, dataTarget, 'token'))).mode & 0o777).toBe(0o644);
      expect((await stat(path.join(volume, dataTarget))).mode & 0o777).toBe(0o755);
      expect(await readFile(file.path, 'utf8')).toBe(file.current.token);
      const { payload } = await jwtVerify(file.current.token, createLocalJWKSet(issuer.jwks()), {
        issuer: ISSUER,
      });
      expect(payload.sub).toBe('system:serviceaccount:payments:broker-client');
    } finally {
      await file.close();
    }
  });

  it('rotates on demand: new content behind a new timestamped directory, the old one removed', async () => {
    const volume = newVolume();
    const file = await startProjectedTokenFile({ issuer, path: path.join(volume, 'token'), ...REQUEST });
    try {
      const before = {
        token: await readFile(file.path, 'utf8'),
        dir: await readlink(path.join(volume, '..data')),
      };
      const rotated = await file.rotateNow();
      const afterDir = await readlink(path.join(volume, '..data'));

      expect(await readFile(file.path, 'utf8')).toBe(rotated.token);
      expect(rotated.token).not.toBe(before.token);
      expect(afterDir).not.toBe(before.dir);
      expect((await readdir(volume)).sort()).toEqual([afterDir, '..data', 'token']);
      expect(file.writes).toBe(2);
    } finally {
      await file.close();
    }
  });

  it('never shows a reader a partial or empty file while it rotates', async () => {
    const volume = newVolume();
    const file = await startProjectedTokenFile({ issuer, path: path.join(volume, 'token'), ...REQUEST });
    const minted = new Set([file.current.token]);
    let rotating = true;
    const seen: string[] = [];
    const reader = async () => {
      while (rotating) {
        try {
          seen.push(await readFile(file.path, 'utf8'));
        } catch (error) {
          // The old directory can vanish between resolving ..data and opening the file: a miss, not a torn read.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    };
    try {
      const readers = [reader(), reader(), reader()];
      for (let i = 0; i < 60; i += 1) minted.add((await file.rotateNow()).token);
      rotating = false;
      await Promise.all(readers);

      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((content) => !minted.has(content))).toEqual([]);
    } finally {
      rotating = false;
      await file.close();
    }
  });

  it('schedules refreshes as the kubelet does: at 80% of the lifetime, or after 24 hours if sooner', () => {
    const at = (expirationSeconds: number) =>
      kubeletRefreshAt({
        token: 'x',
        issuedAt: new Date(0),
        expirationSeconds,
        expirationTimestamp: new Date(expirationSeconds * 1000),
      }).getTime() / 1000;

    expect(at(3600)).toBe(2880);
    expect(at(3607)).toBeCloseTo(2885.6, 6);
    expect(at(172_800)).toBe(86_400);
  });

  it('refreshes by itself when the kubelet would, and not a second before', async () => {
    const volume = newVolume();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(new Date('2026-03-01T10:00:00Z'));
    const file = await startProjectedTokenFile({ issuer, path: path.join(volume, 'token'), ...REQUEST });
    try {
      const first = file.current;
      expect(file.nextRefreshAt).toEqual(new Date('2026-03-01T10:48:00Z'));

      await vi.advanceTimersByTimeAsync(2_879_000);
      expect(file.writes).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      while (file.writes < 2) await new Promise((resolve) => setImmediate(resolve));

      expect(file.current.token).not.toBe(first.token);
      expect(file.current.issuedAt).toEqual(new Date('2026-03-01T10:48:00Z'));
      expect(await readFile(file.path, 'utf8')).toBe(file.current.token);
      expect(file.nextRefreshAt).toEqual(new Date('2026-03-01T11:36:00Z'));
    } finally {
      await file.close();
    }
  });

  it('refreshes every refreshEverySeconds when told, with real timers', async () => {
    const volume = newVolume();
    const file = await startProjectedTokenFile({
      issuer,
      path: path.join(volume, 'token'),
      ...REQUEST,
      refreshEverySeconds: 0.05,
    });
    try {
      const first = await readFile(file.path, 'utf8');
      await vi.waitFor(() => expect(file.writes).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 20 });
      expect(await readFile(file.path, 'utf8')).not.toBe(first);
    } finally {
      await file.close();
    }
  });

  it('keeps the old token when a refresh fails, and stops after close', async () => {
    const volume = newVolume();
    let calls = 0;
    const flaky = {
      mintServiceAccountToken: async (
        request: Parameters<KubernetesIssuer['mintServiceAccountToken']>[0],
      ) => {
        calls += 1;
        if (calls === 2) throw new Error('apiserver unavailable');
        return issuer.mintServiceAccountToken(request);
      },
    };
    const file = await startProjectedTokenFile({
      issuer: flaky,
      path: path.join(volume, 'token'),
      ...REQUEST,
    });
    const kept = await readFile(file.path, 'utf8');

    await expect(file.rotateNow()).rejects.toThrow('apiserver unavailable');
    expect(await readFile(file.path, 'utf8')).toBe(kept);
    expect(file.lastError).toBeInstanceOf(Error);
    await file.close();
    expect(file.nextRefreshAt).toBeUndefined();
    await expect(file.rotateNow()).rejects.toThrow('closed');
  });

  it('refuses a token request the API server would refuse before writing anything', async () => {
    const volume = newVolume();
    const target = path.join(volume, 'token');
    await expect(
      startProjectedTokenFile({ issuer, path: target, ...REQUEST, expirationSeconds: 300 }),
    ).rejects.toThrow('may not specify a duration less than 10 minutes');
    await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// The tokenFile source: a projected token file read once, re-read when the file is swapped (as the
// kubelet does, through a `..data` symlink), and refusals that name no path.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenFileSource } from '../../../shared/sources/tokenFile.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';
import { unsignedJwt } from '../../helpers/signer.js';

const NOW = 1_800_000_000;
let dir: string;
let clock: { t: number; now(): number };
const jwt = (sub: string, exp = NOW + 3600) =>
  unsignedJwt({ alg: 'RS256', kid: 'k' }, { iss: 'https://k8s.example/', sub, exp, iat: NOW });

/** Writes a new version as the kubelet does: a fresh directory, then the `..data` symlink swapped atomically. */
async function project(token: string, version: string): Promise<void> {
  await mkdir(path.join(dir, version));
  await writeFile(path.join(dir, version, 'token'), `${token}\n`);
  await symlink(version, path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'token-file-'));
  clock = { t: NOW * 1000, now: () => clock.t };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('tokenFile source', () => {
  it('reads the token once, and again after the kubelet swaps the file', async () => {
    await project(jwt('system:serviceaccount:broker:one'), '..2026_11_30_17_00_00');
    await symlink('..data/token', path.join(dir, 'token'));
    const source = createTokenFileSource({ path: path.join(dir, 'token'), clock });

    const first = await source.getAssertion();
    const again = await source.getAssertion();
    await project(jwt('system:serviceaccount:broker:two'), '..2026_11_30_17_48_00');
    const swapped = await source.getAssertion();

    expect(again).toBe(first);
    expect(first).toMatchObject({
      issuer: 'https://k8s.example/',
      subject: 'system:serviceaccount:broker:one',
      expiresAtMs: (NOW + 3600) * 1000,
    });
    expect(swapped.subject).toBe('system:serviceaccount:broker:two');
  });

  it('refuses a missing file and a token about to expire, naming no path', async () => {
    const file = path.join(dir, 'token');
    const missing = await createTokenFileSource({ path: file, clock })
      .getAssertion()
      .catch((e: unknown) => e);
    await writeFile(file, jwt('s', NOW + 30));
    const stale = await createTokenFileSource({ path: file, clock })
      .getAssertion()
      .catch((e: unknown) => e);

    expect(missing).toBeInstanceOf(SourceError);
    expect((missing as SourceError).reason).toBe(
      'the token file does not exist; is the projected volume mounted?',
    );
    expect((stale as SourceError).reason).toBe(
      'the token in the file expires in 30 s; is whatever writes it refreshing it?',
    );
    for (const error of [missing, stale]) expect((error as Error).message).not.toContain(dir);
  });
});

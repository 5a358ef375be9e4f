// The generic stand-in OIDC issuer: real iss with local jwks_uri, keys with use/kid/alg, forged headers and
// claims, rotation, decoy keys, and endpoint failures.
import { compactVerify, createRemoteJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcIssuer, startOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import type { RunningServer } from '../../../sandbox/lib/serve.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

describe('stand-in OIDC issuer', () => {
  let issuer: OidcIssuer & { server: RunningServer };
  const get = (path: string) => fetch(`${issuer.server.url}${path}`);

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    issuer = await startOidcIssuer({
      issuer: 'https://accounts.google.com',
      jwksPath: '/oauth2/v3/certs',
      tls: await ca.issue(['127.0.0.1']),
    });
  });
  afterAll(() => issuer.server.close());

  it('serves discovery with the real issuer and its own https jwks_uri', async () => {
    const doc = (await (await get('/.well-known/openid-configuration')).json()) as Record<string, unknown>;

    expect(doc.issuer).toBe('https://accounts.google.com');
    expect(doc.jwks_uri).toBe(`${issuer.server.url}/oauth2/v3/certs`);
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });

  it('publishes RSA keys with use, kid and alg, and no private part', async () => {
    const { keys } = (await (await get('/oauth2/v3/certs')).json()) as {
      keys: Array<Record<string, unknown>>;
    };

    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: issuer.activeKid, e: 'AQAB' });
    expect(keys[0]?.d).toBeUndefined();
  });

  it('signs claims exactly as given, verifiable through its own discovery', async () => {
    const token = await issuer.sign({ iss: issuer.issuer, sub: 's', aud: 'a', exp: 4_102_444_800 });
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${issuer.server.url}/oauth2/v3/certs`)),
      { issuer: 'https://accounts.google.com', audience: 'a' },
    );

    expect(protectedHeader).toEqual({ alg: 'RS256', kid: issuer.activeKid, typ: 'JWT' });
    expect(payload.iat).toBeUndefined();
  });

  it('forges headers: another typ, no typ, unknown kid; alg always follows the key', async () => {
    const jws = await issuer.sign({ sub: 's' }, { header: { typ: 'JWS', alg: 'HS256' } });
    const bare = await issuer.sign({ sub: 's' }, { header: { typ: undefined, kid: undefined } });
    const bogus = await issuer.sign({ sub: 's' }, { header: { kid: 'nope' } });

    expect(decodeProtectedHeader(jws)).toMatchObject({ typ: 'JWS', alg: 'RS256' });
    expect(decodeProtectedHeader(bare)).toEqual({ alg: 'RS256' });
    expect(decodeProtectedHeader(bogus).kid).toBe('nope');
  });

  it('adds EC and unpublished keys, and rotates', async () => {
    const first = issuer.activeKid;
    const ec = await issuer.addKey({ alg: 'ES256' });
    const hidden = await issuer.addKey({ publish: false });
    const rotated = await issuer.rotate({ retirePrevious: true });
    const kids = issuer.jwks().keys.map((key) => key.kid);
    const ecToken = await issuer.sign({ sub: 's' }, { kid: ec });

    expect(decodeProtectedHeader(ecToken).alg).toBe('ES256');
    expect(kids).toEqual([ec, rotated]);
    expect(kids).not.toContain(hidden);
    expect(kids).not.toContain(first);
    expect(issuer.activeKid).toBe(rotated);
  });

  it('publishes decoy keys before the real ones, with distinct kids', async () => {
    await issuer.publishDecoyKeys(3);
    const kids = issuer.jwks().keys.map((key) => key.kid);

    expect(kids.slice(0, 3)).toEqual(['decoy-0', 'decoy-1', 'decoy-2']);
    expect(new Set(kids).size).toBe(kids.length);
  });

  it('fails on demand: status, invalid body, latency, and recovers', async () => {
    issuer.fail('discovery', { status: 500 });
    const failed = await get('/.well-known/openid-configuration');
    issuer.fail('jwks', { body: 'not json', latencyMs: 50 });
    const started = performance.now();
    const garbled = await (await get('/oauth2/v3/certs')).text();
    const elapsed = performance.now() - started;
    issuer.fail('discovery', undefined);
    issuer.fail('jwks', undefined);

    expect(failed.status).toBe(500);
    expect(garbled).toBe('not json');
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect((await get('/.well-known/openid-configuration')).status).toBe(200);
  });

  it('drops the connection when unreachable', async () => {
    issuer.fail('jwks', { unreachable: true });
    const outcome = await get('/oauth2/v3/certs').then(
      (res) => `status ${res.status}`,
      () => 'connection error',
    );
    issuer.fail('jwks', undefined);

    expect(outcome).toBe('connection error');
  });

  it('counts requests per endpoint and overrides discovery fields', async () => {
    const before = issuer.requestCounts.discovery;
    issuer.setDiscoveryOverrides({ issuer: 'https://elsewhere.test' });
    const doc = (await (await get('/.well-known/openid-configuration')).json()) as { issuer: string };
    issuer.setDiscoveryOverrides(undefined);

    expect(doc.issuer).toBe('https://elsewhere.test');
    expect(issuer.requestCounts.discovery).toBe(before + 1);
  });

  it('signs payloads that verify with the compact API too (no JWT claim processing)', async () => {
    const token = await issuer.sign({ anything: true });
    const { protectedHeader } = await compactVerify(
      token,
      await importJWK(issuer.jwks().keys.find((k) => k.kid === issuer.activeKid) ?? {}, 'RS256'),
    );

    expect(protectedHeader.kid).toBe(issuer.activeKid);
  });
});

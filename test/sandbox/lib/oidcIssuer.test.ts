// The generic stand-in OIDC issuer: real iss with local jwks_uri, keys with use/kid/alg, forged headers and
// claims, rotation, decoy keys, endpoint failures, and the /admin routes that mint raw-signed tokens.
import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import {
  compactVerify,
  createRemoteJWKSet,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuerRequestError, type OidcIssuer, startOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
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

describe('stand-in OIDC issuer admin routes', () => {
  let issuer: OidcIssuer & { server: RunningServer };
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${issuer.server.url}/admin${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const mint = async (body: Record<string, unknown>): Promise<string> =>
    (await post('/mint', body)).body.token as string;
  const publishedKeys = async (): Promise<JWK[]> =>
    ((await (await fetch(`${issuer.server.url}/jwks`)).json()) as { keys: JWK[] }).keys;
  const publishedKey = async (kid: string): Promise<JWK> => {
    const key = (await publishedKeys()).find((k) => k.kid === kid);
    if (!key) throw new Error(`no published key ${kid}`);
    return key;
  };
  const decodeSegment = (token: string, index: number): string =>
    Buffer.from(token.split('.')[index] ?? '', 'base64url').toString();
  // node:crypto rather than jose: jose refuses to verify crit/b64 headers and RSA keys under 2048 bits.
  const verifiesRs256 = (token: string, jwk: JWK): boolean => {
    const [header = '', payload = '', signature = ''] = token.split('.');
    return verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
      Buffer.from(signature, 'base64url'),
    );
  };

  beforeAll(async () => {
    issuer = await startOidcIssuer({ issuer: 'https://issuer.example' });
    await issuer.addKey({ kid: 'rsa', activate: true });
    await issuer.addKey({ kid: 'ec', alg: 'ES256' });
  });
  afterAll(() => issuer.server.close());

  it('mints claims as given, verifiable through the JWKS, with the default header', async () => {
    const claims = {
      iss: 'https://issuer.example',
      sub: 'hostile',
      aud: 'a',
      exp: 4_102_444_800,
      n: [1, { x: 2 }],
    };

    const token = await mint({ claims });
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${issuer.server.url}/jwks`)),
      { issuer: 'https://issuer.example', audience: 'a' },
    );

    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: 'rsa', typ: 'JWT' });
    expect(decodeSegment(token, 1)).toBe(JSON.stringify(claims));
  });

  it('signs with an EC key as R || S (ieee-p1363), which jose verifies', async () => {
    const token = await mint({ claims: { sub: 's' }, kid: 'ec' });
    const { protectedHeader } = await compactVerify(
      token,
      await importJWK(await publishedKey('ec'), 'ES256'),
    );

    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'ec', typ: 'JWT' });
    expect(Buffer.from(token.split('.')[2] ?? '', 'base64url')).toHaveLength(64);
  });

  it('signs payloadJson byte for byte: duplicate member names and __proto__ survive', async () => {
    const payloadJson = '{"sub":"a","sub":"b","__proto__":{"admin":true}}';

    const token = await mint({ payloadJson });
    const { payload } = await compactVerify(token, await importJWK(await publishedKey('rsa'), 'RS256'));

    expect(decodeSegment(token, 1)).toBe(payloadJson);
    expect(new TextDecoder().decode(payload)).toBe(payloadJson);
  });

  it('signs headerJson byte for byte, with no default field added', async () => {
    const headerJson = '{"alg":"RS256","alg":"none"}';

    const token = await mint({ claims: { sub: 's' }, headerJson });

    expect(decodeSegment(token, 0)).toBe(headerJson);
    expect(verifiesRs256(token, await publishedKey('rsa'))).toBe(true);
  });

  it.each([
    ['crit: ["exp"]', { crit: ['exp'] }],
    ['b64: false', { b64: false }],
    ['crit: []', { crit: [] }],
  ])('signs a header jose refuses to sign (%s), with a valid signature', async (_name, header) => {
    const token = await mint({ claims: { sub: 's', exp: 4_102_444_800 }, header });

    expect(JSON.parse(decodeSegment(token, 0))).toEqual({ alg: 'RS256', kid: 'rsa', typ: 'JWT', ...header });
    expect(verifiesRs256(token, await publishedKey('rsa'))).toBe(true);
  });

  it('removes a header field set to null, and lets the header claim another alg', async () => {
    const noKid = await mint({ claims: { sub: 's' }, header: { kid: null } });
    const noTyp = await mint({ claims: { sub: 's' }, header: { typ: null, alg: 'HS256' } });

    expect(decodeSegment(noKid, 0)).toBe('{"alg":"RS256","typ":"JWT"}');
    expect(decodeSegment(noTyp, 0)).toBe('{"alg":"HS256","kid":"rsa"}');
    expect(verifiesRs256(noKid, await publishedKey('rsa'))).toBe(true);
    expect(verifiesRs256(noTyp, await publishedKey('rsa'))).toBe(true);
  });

  it('signs under PS256 with an RSA key, and the header alg follows', async () => {
    const { kty, n, e } = await publishedKey('rsa');

    const token = await mint({ claims: { sub: 's' }, alg: 'PS256' });
    const { protectedHeader } = await compactVerify(token, await importJWK({ kty, n, e }, 'PS256'));

    expect(protectedHeader).toEqual({ alg: 'PS256', kid: 'rsa', typ: 'JWT' });
    expect(verifiesRs256(token, { kty, n, e })).toBe(false);
  });

  it('adds a 1024-bit RSA key after the existing ones, published and able to sign', async () => {
    const before = (await publishedKeys()).map((key) => key.kid);

    const added = await post('/keys', { kid: 'weak', modulusLength: 1024 });
    const keys = await publishedKeys();
    const weak = keys.at(-1) ?? {};
    const token = await mint({ claims: { sub: 's' }, kid: 'weak' });

    expect(added).toEqual({ status: 201, body: { kid: 'weak' } });
    expect(keys.map((key) => key.kid)).toEqual([...before, 'weak']);
    expect(weak).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    expect(Buffer.from(weak.n ?? '', 'base64url')).toHaveLength(128);
    expect(decodeProtectedHeader(token).kid).toBe('weak');
    expect(verifiesRs256(token, weak)).toBe(true);
    expect(issuer.activeKid).toBe('rsa');
  });

  it('publishes jwkFields over the default members; null leaves one out', async () => {
    await post('/keys', { kid: 'enc', jwkFields: { use: 'enc', key_ops: ['encrypt'], alg: 'PS256' } });
    await post('/keys', { kid: 'bare', alg: 'ES256', jwkFields: { use: null, alg: null } });

    const enc = await publishedKey('enc');
    const bare = await publishedKey('bare');

    expect(Object.keys(enc).sort()).toEqual(['alg', 'e', 'key_ops', 'kid', 'kty', 'n', 'use']);
    expect(enc).toMatchObject({ kid: 'enc', use: 'enc', key_ops: ['encrypt'], alg: 'PS256' });
    expect(Object.keys(bare).sort()).toEqual(['crv', 'kid', 'kty', 'x', 'y']);
  });

  it('adds an active, unpublished key: it signs by default but is absent from the JWKS', async () => {
    const added = await post('/keys', { kid: 'hidden', publish: false, activate: true });
    const token = await mint({ claims: { sub: 's' } });
    const kids = (await publishedKeys()).map((key) => key.kid);

    expect(added.status).toBe(201);
    expect(decodeProtectedHeader(token).kid).toBe('hidden');
    expect(kids).not.toContain('hidden');
  });

  it.each([
    {
      why: 'both claims and payloadJson',
      body: { claims: {}, payloadJson: '{}' },
      error: 'give exactly one of claims and payloadJson',
    },
    {
      why: 'neither claims nor payloadJson',
      body: { kid: 'rsa' },
      error: 'give exactly one of claims and payloadJson',
    },
    {
      why: 'both header and headerJson',
      body: { claims: {}, header: {}, headerJson: '{}' },
      error: 'give at most one of header and headerJson',
    },
    {
      why: 'an unknown kid',
      body: { claims: {}, kid: 'nope' },
      status: 404,
      error: 'no private key with kid nope',
    },
    {
      why: 'ES256 on an RSA key',
      body: { claims: {}, kid: 'rsa', alg: 'ES256' },
      error: 'alg ES256 does not fit key rsa, generated for RS256',
    },
    {
      why: 'PS256 on an EC key',
      body: { claims: {}, kid: 'ec', alg: 'PS256' },
      error: 'alg PS256 does not fit key ec, generated for ES256',
    },
    { why: 'claims that are an array', body: { claims: [1] }, error: 'claims must be a JSON object' },
    {
      why: 'a payloadJson that is not a string',
      body: { payloadJson: {} },
      error: 'payloadJson must be a JSON string',
    },
    { why: 'a misspelt field', body: { claims: {}, heade: {} }, error: 'unknown field heade' },
    { why: 'a body that is not JSON', body: '{"claims":', error: 'the body is not valid JSON' },
    { why: 'a body that is an array', body: '[]', error: 'the body must be a JSON object' },
    {
      why: 'a key alg it cannot make',
      path: '/keys',
      body: { alg: 'HS256' },
      error: 'alg must be one of RS256, RS384, RS512, PS256, ES256, ES384',
    },
    {
      why: 'modulusLength on an EC key',
      path: '/keys',
      body: { alg: 'ES256', modulusLength: 1024 },
      error: 'modulusLength applies to RSA keys only, not ES256',
    },
    {
      why: 'a modulusLength too small',
      path: '/keys',
      body: { modulusLength: 256 },
      error: 'modulusLength must be an integer from 512 to 8192',
    },
    {
      why: 'a publish that is not a boolean',
      path: '/keys',
      body: { publish: 'yes' },
      error: 'publish must be a JSON boolean',
    },
  ])('refuses $why', async ({ path = '/mint', body, status = 400, error }) => {
    const answer = await post(path, body);

    expect(answer).toEqual({ status, body: { error } });
  });

  it('offers the same signer in process, throwing the admin status', () => {
    const token = issuer.signRaw({ payloadJson: '[1]', header: { typ: null }, kid: 'rsa' });
    const unknown = (() => {
      try {
        return issuer.signRaw({ claims: {}, kid: 'nope' });
      } catch (error) {
        return error;
      }
    })();

    expect(decodeSegment(token, 0)).toBe('{"alg":"RS256","kid":"rsa"}');
    expect(decodeSegment(token, 1)).toBe('[1]');
    expect(unknown).toBeInstanceOf(IssuerRequestError);
    expect(unknown).toMatchObject({ status: 404, message: 'no private key with kid nope' });
  });
});

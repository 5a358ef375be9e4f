// ValidateJWTSVID: SPIRE's checks in order with its texts, claims as a Struct, foreign claims filtered.
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import type { SpireTrustDomain } from '../../../sandbox/spiffe/trustDomain.js';
import { BROKER_ID, expectGrpcError, type FakeClock, fakeClock, TRUST_DOMAIN } from './fixtures.js';
import { connectWorkload, socketDirectory, structToJson, type WorkloadClient } from './workloadClient.js';

const AUDIENCE = 'https://broker.example';
const ALLOWED = '["ES256" "ES384" "ES512" "RS256" "RS384" "RS512" "PS256" "PS384" "PS512"]';

describe('SPIRE agent stand-in: ValidateJWTSVID', () => {
  let sockets: Awaited<ReturnType<typeof socketDirectory>>;
  let clock: FakeClock;
  let agent: SpireAgent;
  let own: SpireTrustDomain;
  let client: WorkloadClient;
  let unpublishedKid: string;
  const now = () => Math.floor(clock.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    aud: [AUDIENCE],
    exp: now() + 300,
    iat: now(),
    sub: BROKER_ID,
    ...extra,
  });
  const validate = (svid: string, audience = AUDIENCE) => client.validateJwtSvid({ audience, svid });

  beforeAll(async () => {
    sockets = await socketDirectory();
    clock = fakeClock();
    agent = await startSpireAgent({
      trustDomain: { name: TRUST_DOMAIN, jwtIssuer: 'https://oidc.example.org' },
      federatedTrustDomains: [{ name: 'partner.example', jwtKeyType: 'rsa-2048' }],
      workloads: [{ socketPath: path.join(sockets.dir, 'broker.sock'), spiffeIds: [BROKER_ID] }],
      allowedForeignJwtClaims: ['tenant'],
      clock,
      admin: false,
    });
    own = agent.trustDomain;
    unpublishedKid = await own.addKey({ alg: 'ES256', publish: false });
    client = await connectWorkload(agent.endpoints[0] ?? '');
  });
  afterAll(async () => {
    client.close();
    await agent.close();
    await sockets.remove();
  });

  it('accepts an SVID the agent issued and returns its SPIFFE ID and claims, aud as a list', async () => {
    const [svid] = await client.fetchJwtSvid({ audience: [AUDIENCE] });

    const result = await validate(svid?.svid ?? '');

    expect(result.spiffe_id).toBe(BROKER_ID);
    expect(structToJson(result.claims)).toEqual({
      aud: [AUDIENCE],
      exp: now() + 300,
      iat: now(),
      iss: 'https://oidc.example.org',
      sub: BROKER_ID,
    });
  });

  it('returns a single-string aud as a list, as SPIRE keeps for compatibility', async () => {
    const token = own.signRaw({ claims: claims({ aud: AUDIENCE }) });

    expect(structToJson((await validate(token)).claims).aud).toEqual([AUDIENCE]);
  });

  it('accepts an SVID expired by less than go-jose’s one-minute leeway', async () => {
    const token = own.signRaw({ claims: claims({ exp: now() - 30 }) });

    expect((await validate(token)).spiffe_id).toBe(BROKER_ID);
  });

  it('refuses a tampered SVID with go-jose’s crypto failure', async () => {
    const [svid] = await client.fetchJwtSvid({ audience: [AUDIENCE] });
    const [header, , signature] = (svid?.svid ?? '').split('.');
    const forged = Buffer.from(JSON.stringify(claims({ sub: 'spiffe://example.org/admin' }))).toString(
      'base64url',
    );

    await expectGrpcError(
      validate(`${header}.${forged}.${signature}`),
      status.INVALID_ARGUMENT,
      'go-jose/go-jose: error in cryptographic primitive',
    );
  });

  it.each<[string, () => string, () => string]>([
    [
      'two segments',
      () => 'a.b',
      () => 'unable to parse JWT token: go-jose/go-jose: compact JWS format must have three parts',
    ],
    [
      'an HS256 header',
      () => own.signRaw({ claims: claims(), header: { alg: 'HS256' } }),
      () => `unable to parse JWT token: unexpected signature algorithm "HS256"; expected ${ALLOWED}`,
    ],
    [
      'no kid',
      () => own.signRaw({ claims: claims(), header: { kid: null } }),
      () => 'token header missing key id',
    ],
    [
      'no sub',
      () => own.signRaw({ claims: claims({ sub: undefined }) }),
      () => 'token missing subject claim',
    ],
    ['no exp', () => own.signRaw({ claims: claims({ exp: undefined }) }), () => 'token missing exp claim'],
    [
      'a sub with a dot segment',
      () => own.signRaw({ claims: claims({ sub: 'spiffe://example.org/a/../b' }) }),
      () => 'token has in invalid subject claim: path cannot contain dot segments',
    ],
    [
      'an unknown trust domain',
      () => own.signRaw({ claims: claims({ sub: 'spiffe://unknown.example/x' }) }),
      () => 'no keys found for trust domain "unknown.example"',
    ],
    [
      'an unpublished key',
      () => own.signRaw({ claims: claims(), kid: unpublishedKid }),
      () => `public key "${unpublishedKid}" not found in trust domain "example.org"`,
    ],
    [
      'another trust domain’s key',
      () =>
        agent.getTrustDomain('partner.example').signRaw({ claims: claims(), header: { kid: own.activeKid } }),
      () => 'go-jose/go-jose: error in cryptographic primitive',
    ],
    [
      'an unknown crit header',
      () => own.signRaw({ claims: claims(), header: { crit: ['exp'] } }),
      () => 'go-jose/go-jose: unsupported critical header',
    ],
    [
      'another audience',
      () => own.signRaw({ claims: claims({ aud: ['https://other.example'] }) }),
      () => `expected audience in ["${AUDIENCE}"] (audience=["https://other.example"])`,
    ],
    [
      'an aud that is a number',
      () => own.signRaw({ claims: claims({ aud: 7 }) }),
      () => 'go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience',
    ],
    [
      'a future nbf',
      () => own.signRaw({ claims: claims({ nbf: now() + 120 }) }),
      () => 'go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)',
    ],
    [
      'an exp past the leeway',
      () => own.signRaw({ claims: claims({ exp: now() - 61 }) }),
      () => 'token has expired',
    ],
    [
      'a future iat',
      () => own.signRaw({ claims: claims({ iat: now() + 120 }) }),
      () => 'go-jose/go-jose/jwt: validation field, token issued in the future (iat)',
    ],
  ])('refuses %s with SPIRE’s text', async (_case, token, message) => {
    await expectGrpcError(validate(token()), status.INVALID_ARGUMENT, message());
  });

  it('keeps only sub, exp, aud and the allowed claims of a foreign trust domain’s SVID', async () => {
    const partner = agent.getTrustDomain('partner.example');
    const token = partner.signRaw({
      claims: claims({
        sub: 'spiffe://partner.example/job',
        iss: 'https://partner',
        tenant: 't1',
        role: 'x',
      }),
    });

    const result = await validate(token);

    expect(result.spiffe_id).toBe('spiffe://partner.example/job');
    expect(Object.keys(structToJson(result.claims)).sort()).toEqual(['aud', 'exp', 'sub', 'tenant']);
  });

  it('refuses a missing audience, a missing SVID and a missing security header', async () => {
    const token = own.signRaw({ claims: claims() });

    await expectGrpcError(validate(token, ''), status.INVALID_ARGUMENT, 'audience must be specified');
    await expectGrpcError(validate(''), status.INVALID_ARGUMENT, 'svid must be specified');
    await expectGrpcError(
      client.validateJwtSvid({ audience: AUDIENCE, svid: token }, false),
      status.INVALID_ARGUMENT,
      'security header missing from request',
    );
  });
});

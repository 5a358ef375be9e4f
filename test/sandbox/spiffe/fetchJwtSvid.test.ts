// FetchJWTSVID as a workload calls it: verifiable SVIDs, SPIRE's claims and header, refusals, the SVID cache.
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import {
  APP_ID,
  APP_SECOND_ID,
  BROKER_ID,
  ENTRA_AUDIENCE,
  expectGrpcError,
  type FakeClock,
  fakeClock,
  readJwt,
  TRUST_DOMAIN,
} from './fixtures.js';
import { connectWorkload, readBundles, socketDirectory, type WorkloadClient } from './workloadClient.js';

describe('SPIRE agent stand-in: FetchJWTSVID', () => {
  let sockets: Awaited<ReturnType<typeof socketDirectory>>;
  let clock: FakeClock;
  let agent: SpireAgent;
  let rsaAgent: SpireAgent;
  let broker: WorkloadClient;
  let app: WorkloadClient;
  let nobody: WorkloadClient;
  let rsaWorkload: WorkloadClient;

  /** The agent's JWT bundle for its trust domain, read from the bundle stream as a verifier would. */
  async function bundleOf(client: WorkloadClient, trustDomain: string): Promise<JSONWebKeySet> {
    const stream = client.fetchJwtBundles();
    const bundles = await readBundles(stream).next();
    stream.cancel();
    return bundles[`spiffe://${trustDomain}`] as unknown as JSONWebKeySet;
  }

  beforeAll(async () => {
    sockets = await socketDirectory();
    clock = fakeClock();
    agent = await startSpireAgent({
      trustDomain: { name: TRUST_DOMAIN },
      workloads: [
        { socketPath: path.join(sockets.dir, 'broker.sock'), spiffeIds: [BROKER_ID] },
        { socketPath: path.join(sockets.dir, 'app.sock'), spiffeIds: [APP_ID, APP_SECOND_ID] },
        { socketPath: path.join(sockets.dir, 'nobody.sock'), spiffeIds: [] },
      ],
      clock,
      admin: false,
    });
    rsaAgent = await startSpireAgent({
      trustDomain: {
        name: 'entra.example',
        jwtKeyType: 'rsa-2048',
        jwtIssuer: 'https://oidc.entra.example',
        svidTtlSeconds: 600,
      },
      workloads: [
        { socketPath: path.join(sockets.dir, 'rsa.sock'), spiffeIds: ['spiffe://entra.example/job'] },
      ],
      admin: false,
    });
    const [brokerSocket = '', appSocket = '', nobodySocket = ''] = agent.endpoints;
    broker = await connectWorkload(brokerSocket);
    app = await connectWorkload(appSocket);
    nobody = await connectWorkload(nobodySocket);
    rsaWorkload = await connectWorkload(rsaAgent.endpoints[0] ?? '');
  });
  afterAll(async () => {
    for (const client of [broker, app, nobody, rsaWorkload]) client.close();
    await agent.close();
    await rsaAgent.close();
    await sockets.remove();
  });

  it('returns an ES256 JWT-SVID that verifies against the bundle from FetchJWTBundles', async () => {
    const [svid, ...more] = await broker.fetchJwtSvid({ audience: [ENTRA_AUDIENCE] });

    expect(more).toEqual([]);
    expect(svid).toMatchObject({ spiffe_id: BROKER_ID, hint: '' });
    const bundle = await bundleOf(broker, TRUST_DOMAIN);
    const { payload, protectedHeader } = await jwtVerify(svid?.svid ?? '', createLocalJWKSet(bundle), {
      audience: ENTRA_AUDIENCE,
    });
    expect(payload.sub).toBe(BROKER_ID);
    expect(protectedHeader.alg).toBe('ES256');
  });

  it('uses SPIRE’s header and claims: aud always an array, a 5-minute lifetime, no iss without jwt_issuer', async () => {
    const before = Math.floor(clock.now() / 1000);

    const [svid] = await broker.fetchJwtSvid({ audience: ['https://broker.example'] });

    const { header, claims } = readJwt(svid?.svid ?? '');
    expect(header).toEqual({ alg: 'ES256', kid: agent.trustDomain.activeKid, typ: 'JWT' });
    expect(claims).toEqual({
      aud: ['https://broker.example'],
      exp: before + 300,
      iat: before,
      sub: BROKER_ID,
    });
  });

  it('signs RS256 for an rsa-2048 trust domain, with iss from jwt_issuer and the configured TTL', async () => {
    const [svid] = await rsaWorkload.fetchJwtSvid({ audience: [ENTRA_AUDIENCE, 'second'] });

    const bundle = await bundleOf(rsaWorkload, 'entra.example');
    const { payload, protectedHeader } = await jwtVerify(svid?.svid ?? '', createLocalJWKSet(bundle), {
      issuer: 'https://oidc.entra.example',
      audience: ENTRA_AUDIENCE,
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: rsaAgent.trustDomain.activeKid, typ: 'JWT' });
    expect(payload.aud).toEqual([ENTRA_AUDIENCE, 'second']);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    expect(Buffer.from(String(bundle.keys[0]?.n), 'base64url').length * 8).toBe(2048);
  });

  it('returns one SVID per entitled identity, or only the one asked for', async () => {
    const all = await app.fetchJwtSvid({ audience: ['aud'] });
    const one = await app.fetchJwtSvid({ audience: ['aud'], spiffe_id: APP_SECOND_ID });

    expect(all.map((svid) => svid.spiffe_id)).toEqual([APP_ID, APP_SECOND_ID]);
    expect(all.map((svid) => readJwt(svid.svid).claims.sub)).toEqual([APP_ID, APP_SECOND_ID]);
    expect(one.map((svid) => svid.spiffe_id)).toEqual([APP_SECOND_ID]);
  });

  it.each<[string, boolean | string[]]>([
    ['no security header', false],
    ['the value True (the check is case-sensitive)', ['True']],
    ['the header twice', ['true', 'true']],
  ])('refuses a call with %s, with SPIRE’s InvalidArgument text', async (_case, header) => {
    await expectGrpcError(
      broker.fetchJwtSvid({ audience: ['aud'] }, header),
      status.INVALID_ARGUMENT,
      'security header missing from request',
    );
  });

  it('refuses an empty audience', async () => {
    await expectGrpcError(
      broker.fetchJwtSvid({ audience: [] }),
      status.INVALID_ARGUMENT,
      'audience must be specified',
    );
  });

  it.each([
    ['http://example.org/x', 'scheme is missing or invalid'],
    ['spiffe:///x', 'trust domain is missing'],
    [
      'spiffe://Example.org/x',
      'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
    ],
    ['spiffe://example.org/x/', 'path cannot have a trailing slash'],
    ['spiffe://example.org//x', 'path cannot contain empty segments'],
  ])('refuses the malformed requested ID %s with go-spiffe’s reason', async (spiffeId, reason) => {
    await expectGrpcError(
      broker.fetchJwtSvid({ audience: ['aud'], spiffe_id: spiffeId }),
      status.INVALID_ARGUMENT,
      `invalid requested SPIFFE ID: ${reason}`,
    );
  });

  it('answers PermissionDenied for another workload’s identity, and for a workload with none', async () => {
    await expectGrpcError(
      broker.fetchJwtSvid({ audience: ['aud'], spiffe_id: APP_ID }),
      status.PERMISSION_DENIED,
      'no identity issued',
    );
    await expectGrpcError(
      nobody.fetchJwtSvid({ audience: ['aud'] }),
      status.PERMISSION_DENIED,
      'no identity issued',
    );
  });

  it('reuses a cached SVID for the same audiences until half its lifetime is gone', async () => {
    const [first] = await broker.fetchJwtSvid({ audience: ['cache-a', 'cache-b'] });
    clock.advanceSeconds(100);
    const [reordered] = await broker.fetchJwtSvid({ audience: ['cache-b', 'cache-a'] });
    clock.advanceSeconds(60);
    const [renewed] = await broker.fetchJwtSvid({ audience: ['cache-a', 'cache-b'] });

    expect(reordered?.svid).toBe(first?.svid);
    expect(renewed?.svid).not.toBe(first?.svid);
    expect(readJwt(renewed?.svid ?? '').claims.iat).toBe(Math.floor(clock.now() / 1000));
  });

  it('keeps serving a cached SVID after a rotation, and drops it once its key is retired', async () => {
    const [cached] = await broker.fetchJwtSvid({ audience: ['rotation'] });
    const oldKid = agent.trustDomain.activeKid;
    const { kid: rotatedKid } = await agent.rotate(TRUST_DOMAIN);
    const [afterRotate] = await broker.fetchJwtSvid({ audience: ['rotation'] });
    const [signedByRotated] = await broker.fetchJwtSvid({ audience: ['retire'] });

    const { kid: newKid, retiredKid } = await agent.rotate(TRUST_DOMAIN, { retirePrevious: true });
    const [afterRetire] = await broker.fetchJwtSvid({ audience: ['retire'] });

    expect(afterRotate?.svid).toBe(cached?.svid);
    expect(readJwt(afterRotate?.svid ?? '').header.kid).toBe(oldKid);
    expect(readJwt(signedByRotated?.svid ?? '').header.kid).toBe(rotatedKid);
    expect(retiredKid).toBe(rotatedKid);
    expect(readJwt(afterRetire?.svid ?? '').header.kid).toBe(newKid);
  });
});

// The Kubernetes service-account issuer stand-in: discovery and JWKS over https, TokenRequest rules and claims.
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KubernetesIssuer,
  startKubernetesIssuer,
  TokenRequestError,
} from '../../../sandbox/kubernetes/kubernetesIssuer.js';
import { createOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import {
  createCertificateAuthority,
  type PemPair,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';

const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AKS_ISSUER =
  'https://eastus.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/0b3c5e7d-1a2b-4c3d-8e9f-001122334455/';
const NOW_MS = 1_736_981_597_000;
const NOW = NOW_MS / 1000;
const FIC_AUDIENCE = 'api://AzureADTokenExchange';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const POD = { name: 'ratings-v1-899795659-7dr4z', uid: '8597bc3b-7219-47dc-9d9d-a4a6bfeb8d94' };
const NODE = { name: 'aks-nodepool1-12345678-vmss000000', uid: 'aad42a6b-b5dc-4d96-95b3-902ce3dc9e4a' };
const ACCOUNT = {
  namespace: 'payments',
  serviceAccount: 'broker-client',
  serviceAccountUid: 'f1e2d3c4-0000-4000-8000-00000000abcd',
};

/** Verifies as a relying party does: discovery document, then its `jwks_uri`, both over https. */
async function verifyThroughDiscovery(discoveryUrl: string, token: string, issuer: string, audience: string) {
  const document = (await (await fetch(discoveryUrl)).json()) as { jwks_uri: string };
  return jwtVerify(token, createRemoteJWKSet(new URL(document.jwks_uri)), {
    issuer,
    audience,
    algorithms: ['RS256'],
    currentDate: new Date(NOW_MS + 1000),
  });
}

describe('Kubernetes service-account issuer stand-in', () => {
  let tls: PemPair;
  let cluster: KubernetesIssuer;
  let aks: KubernetesIssuer;

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    tls = await ca.issue(['localhost', '127.0.0.1']);
    cluster = await startKubernetesIssuer({ issuer: CLUSTER_ISSUER, tls, now: () => NOW_MS });
    aks = await startKubernetesIssuer({ issuer: AKS_ISSUER, tls, now: () => NOW_MS });
  });
  afterAll(async () => {
    await cluster.close();
    await aks.close();
  });

  it('serves the API server’s discovery document at the root, with the real issuer and the local JWKS', async () => {
    const response = await fetch(`${cluster.server.url}/.well-known/openid-configuration`);

    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(await response.json()).toEqual({
      issuer: CLUSTER_ISSUER,
      jwks_uri: `${cluster.server.url}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('serves the JWKS at /openid/v1/jwks as application/jwk-set+json with RS256 signing keys', async () => {
    const response = await fetch(cluster.jwksUrl);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };

    expect(cluster.jwksUrl).toBe(`${cluster.server.url}/openid/v1/jwks`);
    expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(keys.map((key) => Object.keys(key).sort())).toEqual([['alg', 'e', 'kid', 'kty', 'n', 'use']]);
    expect(keys[0]).toMatchObject({ alg: 'RS256', kty: 'RSA', use: 'sig', kid: cluster.activeKid });
  });

  it('keeps an AKS issuer’s trailing slash and serves discovery below the issuer path', async () => {
    const path = new URL(AKS_ISSUER).pathname.replace(/\/$/, '');
    const document = (await (await fetch(aks.discoveryUrl)).json()) as Record<string, unknown>;
    const { token } = await aks.mintServiceAccountToken({ ...ACCOUNT, pod: POD, audiences: [FIC_AUDIENCE] });

    const { payload } = await verifyThroughDiscovery(aks.discoveryUrl, token, AKS_ISSUER, FIC_AUDIENCE);
    expect(aks.discoveryUrl).toBe(`${aks.server.url}${path}/.well-known/openid-configuration`);
    expect(document.issuer).toBe(AKS_ISSUER);
    expect(document.jwks_uri).toBe(`${aks.server.url}${path}/openid/v1/jwks`);
    expect(payload.iss).toBe(AKS_ISSUER);
  });

  it('mints a pod-bound projected token with exactly the API server’s claims and header', async () => {
    const { token, expirationTimestamp, issuedAt, expirationSeconds } = await cluster.mintServiceAccountToken(
      {
        ...ACCOUNT,
        pod: POD,
        node: NODE,
        audiences: [FIC_AUDIENCE],
      },
    );

    const { payload, protectedHeader } = await verifyThroughDiscovery(
      cluster.discoveryUrl,
      token,
      CLUSTER_ISSUER,
      FIC_AUDIENCE,
    );
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: cluster.activeKid });
    expect(payload).toEqual({
      aud: [FIC_AUDIENCE],
      exp: NOW + 3600,
      iat: NOW,
      iss: CLUSTER_ISSUER,
      jti: expect.stringMatching(UUID),
      'kubernetes.io': {
        namespace: 'payments',
        node: NODE,
        pod: POD,
        serviceaccount: { name: 'broker-client', uid: ACCOUNT.serviceAccountUid },
      },
      nbf: NOW,
      sub: 'system:serviceaccount:payments:broker-client',
    });
    // Go encodes the claims from a map, so members come out sorted; the stand-in matches byte order too.
    const raw = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as object;
    expect(Object.keys(raw)).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    expect({ expirationTimestamp, issuedAt, expirationSeconds }).toEqual({
      expirationTimestamp: new Date(NOW_MS + 3600_000),
      issuedAt: new Date(NOW_MS),
      expirationSeconds: 3600,
    });
  });

  it('gives each token a fresh jti and each service account one stable uid', async () => {
    const request = { namespace: 'payments', serviceAccount: 'worker', audiences: [FIC_AUDIENCE] };
    const local = createLocalJWKSet(cluster.jwks());
    const verify = async () =>
      (
        await jwtVerify((await cluster.mintServiceAccountToken(request)).token, local, {
          currentDate: new Date(NOW_MS),
        })
      ).payload as { jti: string; 'kubernetes.io': { serviceaccount: { uid: string } } };

    const [first, second] = [await verify(), await verify()];
    expect(first.jti).not.toBe(second.jti);
    expect(first['kubernetes.io'].serviceaccount.uid).toMatch(UUID);
    expect(second['kubernetes.io'].serviceaccount.uid).toBe(first['kubernetes.io'].serviceaccount.uid);
  });

  it.each([
    [599, 'may not specify a duration less than 10 minutes'],
    [2 ** 32 + 1, 'may not specify a duration larger than 2^32 seconds'],
    [3600.5, 'must be an integer'],
  ])('refuses expirationSeconds %s as the API server’s validation does', async (seconds, detail) => {
    const attempt = cluster.mintServiceAccountToken({ ...ACCOUNT, expirationSeconds: seconds });

    await expect(attempt).rejects.toBeInstanceOf(TokenRequestError);
    await expect(attempt).rejects.toMatchObject({
      status: 422,
      message: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: ${detail}`,
    });
  });

  it('accepts exactly 600 seconds, and defaults the audience to the API server’s (the issuer)', async () => {
    const { token, expirationSeconds } = await cluster.mintServiceAccountToken({
      ...ACCOUNT,
      expirationSeconds: 600,
    });

    const { payload } = await jwtVerify(token, createLocalJWKSet(cluster.jwks()), {
      currentDate: new Date(NOW_MS),
    });
    expect(expirationSeconds).toBe(600);
    expect(payload.exp).toBe(NOW + 600);
    expect(payload.aud).toEqual([CLUSTER_ISSUER]);
    expect(payload['kubernetes.io']).toEqual({
      namespace: 'payments',
      serviceaccount: { name: 'broker-client', uid: ACCOUNT.serviceAccountUid },
    });
  });

  it('extends a pod-bound 3607 s token for the API audiences to one year, with warnafter', async () => {
    const extended = await cluster.mintServiceAccountToken({ ...ACCOUNT, pod: POD, expirationSeconds: 3607 });
    const forEntra = await cluster.mintServiceAccountToken({
      ...ACCOUNT,
      pod: POD,
      expirationSeconds: 3607,
      audiences: [FIC_AUDIENCE],
    });

    const local = createLocalJWKSet(cluster.jwks());
    const { payload } = await jwtVerify(extended.token, local, { currentDate: new Date(NOW_MS) });
    const { payload: plain } = await jwtVerify(forEntra.token, local, { currentDate: new Date(NOW_MS) });
    expect(payload.exp).toBe(NOW + 365 * 24 * 3600);
    expect((payload['kubernetes.io'] as { warnafter?: number }).warnafter).toBe(NOW + 3607);
    expect(extended.expirationTimestamp).toEqual(new Date(NOW_MS + 3607_000));
    expect(plain.exp).toBe(NOW + 3607);
    expect(plain['kubernetes.io']).not.toHaveProperty('warnafter');
  });

  it('shortens a request above --service-account-max-token-expiration instead of refusing it', async () => {
    const capped = await startKubernetesIssuer({
      issuer: CLUSTER_ISSUER,
      tls,
      now: () => NOW_MS,
      maxExpirationSeconds: 7200,
    });
    try {
      const { token, expirationSeconds } = await capped.mintServiceAccountToken({
        ...ACCOUNT,
        expirationSeconds: 86_400,
      });
      const { payload } = await jwtVerify(token, createLocalJWKSet(capped.jwks()), {
        currentDate: new Date(NOW_MS),
      });
      expect(expirationSeconds).toBe(7200);
      expect(payload.exp).toBe(NOW + 7200);
    } finally {
      await capped.close();
    }
  });

  it('binds to a node alone when it has a uid, and carries a pod’s node without uid as the name only', async () => {
    const nodeBound = await cluster.mintServiceAccountToken({
      ...ACCOUNT,
      node: NODE,
      audiences: [FIC_AUDIENCE],
    });
    const unknownNode = await cluster.mintServiceAccountToken({
      ...ACCOUNT,
      pod: POD,
      node: { name: 'gone' },
    });

    const local = createLocalJWKSet(cluster.jwks());
    const claims = async (token: string) =>
      (await jwtVerify(token, local, { currentDate: new Date(NOW_MS) })).payload['kubernetes.io'];
    expect(await claims(nodeBound.token)).toMatchObject({ node: NODE });
    expect(await claims(nodeBound.token)).not.toHaveProperty('pod');
    expect(await claims(unknownNode.token)).toMatchObject({ pod: POD, node: { name: 'gone' } });
    await expect(cluster.mintServiceAccountToken({ ...ACCOUNT, node: { name: 'x' } })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('refuses names the API server would not accept', async () => {
    await expect(
      cluster.mintServiceAccountToken({ namespace: 'Payments', serviceAccount: 'a' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('namespace'),
    });
    await expect(
      cluster.mintServiceAccountToken({ namespace: 'a', serviceAccount: 'a:b' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('serviceAccount'),
    });
  });

  it('verifies only its own tokens: one from another key fails against its JWKS', async () => {
    const impostor = await createOidcIssuer({ issuer: CLUSTER_ISSUER });
    const forged = await impostor.sign({
      iss: CLUSTER_ISSUER,
      aud: [FIC_AUDIENCE],
      sub: 'system:serviceaccount:a:b',
    });

    expect(decodeProtectedHeader(forged).kid).not.toBe(cluster.activeKid);
    await expect(
      jwtVerify(forged, createRemoteJWKSet(new URL(cluster.jwksUrl)), { issuer: CLUSTER_ISSUER }),
    ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it.each([
    ['http://kubernetes.default.svc', 'must use https'],
    ['https://k8s.example/?x=1', 'may not have a query'],
    ['https://k8s.example/#frag', 'may not have a fragment'],
  ])('refuses the issuer %s as NewOpenIDMetadata does', async (issuer, detail) => {
    await expect(startKubernetesIssuer({ issuer, tls })).rejects.toThrow(detail);
  });
});

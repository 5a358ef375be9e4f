// SPIRE's OIDC discovery provider stand-in over https: its documents, shared keys, refusals, Entra-style use.
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PemPair } from '../../../sandbox/lib/tls.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';
import {
  type SpireOidcProvider,
  startSpireOidcProvider,
} from '../../../sandbox/spiffe/oidcDiscoveryProvider.js';
import { type SpireAgent, startSpireAgent } from '../../../sandbox/spiffe/spireAgent.js';
import { createSpireTrustDomain, type SpireTrustDomain } from '../../../sandbox/spiffe/trustDomain.js';
import { ENTRA_AUDIENCE } from './fixtures.js';
import { connectWorkload, socketDirectory } from './workloadClient.js';

const ISSUER = 'https://oidc.entra.example';
const JOB_ID = 'spiffe://entra.example/ns/jobs/sa/nightly';

describe('SPIRE OIDC discovery provider stand-in', () => {
  let tls: PemPair;
  let sockets: Awaited<ReturnType<typeof socketDirectory>>;
  let agent: SpireAgent;
  let byHost: SpireOidcProvider;
  let byIssuer: SpireOidcProvider;
  let ecDomain: SpireTrustDomain;
  let ecProvider: SpireOidcProvider;
  const started: SpireOidcProvider[] = [];

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    tls = await ca.issue(['localhost', '127.0.0.1']);
    sockets = await socketDirectory();
    agent = await startSpireAgent({
      trustDomain: { name: 'entra.example', jwtKeyType: 'rsa-2048', jwtIssuer: ISSUER },
      workloads: [{ socketPath: path.join(sockets.dir, 'job.sock'), spiffeIds: [JOB_ID] }],
      admin: false,
    });
    byHost = await startSpireOidcProvider({ trustDomain: agent.trustDomain, tls });
    byIssuer = await startSpireOidcProvider({
      trustDomain: agent.trustDomain,
      tls,
      jwtIssuer: ISSUER,
      setKeyUse: true,
    });
    ecDomain = await createSpireTrustDomain({ name: 'example.org', jwtKeyType: 'ec-p384' });
    ecProvider = await startSpireOidcProvider({ trustDomain: ecDomain, tls });
    started.push(byHost, byIssuer, ecProvider);
  });
  afterAll(async () => {
    await Promise.all(started.map((provider) => provider.close()));
    await agent.close();
    await sockets.remove();
  });

  it('serves SPIRE’s discovery document with the request’s host when no jwt_issuer is set', async () => {
    const response = await fetch(`${byHost.url}/.well-known/openid-configuration`);

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      issuer: byHost.url,
      jwks_uri: `${byHost.url}/keys`,
      authorization_endpoint: '',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'ES384'],
    });
  });

  it('names the configured jwt_issuer and derives jwks_uri from it', async () => {
    const document = (await (
      await fetch(`${byIssuer.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;

    expect(document).toMatchObject({ issuer: ISSUER, jwks_uri: `${ISSUER}/keys` });
  });

  it('publishes the trust domain’s keys with alg from the key type, never cached, use only with set_key_use', async () => {
    const plain = await fetch(`${byHost.url}/keys`);
    const withUse = (await (await fetch(`${byIssuer.url}/keys`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const ec = (await (await fetch(`${ecProvider.url}/keys`)).json()) as { keys: Record<string, unknown>[] };
    const keys = ((await plain.json()) as { keys: Record<string, unknown>[] }).keys;

    expect(plain.headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
    expect(keys.map((key) => [key.kid, key.alg, key.use])).toEqual([
      [agent.trustDomain.activeKid, 'RS256', undefined],
    ]);
    expect(withUse.keys.map((key) => key.use)).toEqual(['sig']);
    expect(ec.keys.map((key) => [key.kid, key.alg, key.crv])).toEqual([
      [ecDomain.activeKid, 'ES384', 'P-384'],
    ]);
  });

  it('shows a rotation of the agent’s trust domain at once', async () => {
    const before = agent.trustDomain.activeKid;

    const { kid } = await agent.rotate('entra.example');
    const keys = ((await (await fetch(`${byHost.url}/keys`)).json()) as { keys: { kid: string }[] }).keys;

    expect(keys.map((key) => key.kid)).toEqual([before, kid]);
  });

  it('lets a verifier check an agent-issued SVID through discovery, as Entra does with SPIRE', async () => {
    const workload = await connectWorkload(agent.endpoints[0] ?? '');
    const [svid] = await workload.fetchJwtSvid({ audience: [ENTRA_AUDIENCE] });
    workload.close();
    const document = (await (await fetch(`${byIssuer.url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };

    const { payload } = await jwtVerify(
      svid?.svid ?? '',
      createRemoteJWKSet(new URL(`${byIssuer.url}/keys`)),
      {
        issuer: document.issuer,
        audience: ENTRA_AUDIENCE,
        algorithms: ['RS256'],
      },
    );

    expect(payload.sub).toBe(JOB_ID);
  });

  it('serves plain http only with allow_insecure_scheme, naming an http issuer, and the pre-1.12.4 subject types', async () => {
    const insecure = await startSpireOidcProvider({
      trustDomain: ecDomain,
      allowInsecureScheme: true,
      emptySubjectTypes: true,
    });
    started.push(insecure);

    const document = (await (
      await fetch(`${insecure.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;

    expect(document).toMatchObject({
      issuer: insecure.url,
      jwks_uri: `${insecure.url}/keys`,
      subject_types_supported: [],
    });
    expect(insecure.url).toMatch(/^http:\/\//);
    await expect(startSpireOidcProvider({ trustDomain: ecDomain })).rejects.toThrow(/tls is required/);
  });

  it.each(['/.well-known/openid-configuration', '/keys'])('answers 405 to a POST on %s', async (route) => {
    const response = await fetch(`${byHost.url}${route}`, { method: 'POST' });

    expect([response.status, await response.text()]).toEqual([405, 'method not allowed\n']);
  });

  it('refuses discovery for a host outside `domains`, honouring X-Forwarded-Host', async () => {
    const response = await fetch(`${byHost.url}/.well-known/openid-configuration`, {
      headers: { 'x-forwarded-host': 'evil.example' },
    });

    expect([response.status, await response.text()]).toEqual([400, 'domain "evil.example" is not allowed\n']);
  });

  it('answers 500 without a keyset and 501 when the keyset is empty', async () => {
    const domain = await createSpireTrustDomain({ name: 'empty.example' });
    const provider = await startSpireOidcProvider({ trustDomain: domain, tls });
    started.push(provider);

    provider.setKeysetUnavailable(true);
    const unavailable = await fetch(`${provider.url}/keys`);
    provider.setKeysetUnavailable(false);
    domain.unpublishKey(domain.activeKid);
    const empty = await fetch(`${provider.url}/keys`);

    expect([unavailable.status, await unavailable.text()]).toEqual([500, 'document not available\n']);
    expect([empty.status, await empty.text()]).toEqual([501, 'jwt not supported/enabled in this service\n']);
  });

  it('answers 304 to If-Modified-Since no older than the last key change', async () => {
    const first = await fetch(`${ecProvider.url}/keys`);
    const lastModified = first.headers.get('last-modified') ?? '';

    const again = await fetch(`${ecProvider.url}/keys`, { headers: { 'if-modified-since': lastModified } });

    expect(lastModified).not.toBe('');
    expect(again.status).toBe(304);
  });
});

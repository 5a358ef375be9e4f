// Google's stand-in issuer over https: discovery and JWKS in Google's shapes, tokens verify through the JWKS URL.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE_JWKS_PATH, type GoogleIssuer, startGoogleIssuer } from '../../../sandbox/gcp/googleIssuer.js';
import { createGcpMetadataServer } from '../../../sandbox/gcp/metadataServer.js';
import { GOOGLE_ISSUER } from '../../../sandbox/gcp/model.js';
import { createOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';
import { AUDIENCE, VM_A, vmAOptions } from './fixtures.js';

describe('Google issuer stand-in', () => {
  let google: GoogleIssuer;

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    google = await startGoogleIssuer({
      tls: await ca.issue(['localhost', '127.0.0.1']),
      jwksMaxAgeSeconds: 1234,
    });
  });
  afterAll(() => google.close());

  it('serves over https on loopback and names its URLs', () => {
    expect(google.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(google.jwksUrl).toBe(`${google.server.url}/oauth2/v3/certs`);
    expect(google.discoveryUrl).toBe(`${google.server.url}/.well-known/openid-configuration`);
    expect(google.issuer).toBe('https://accounts.google.com');
  });

  it('serves a discovery document in Google’s shape with the real issuer and the local JWKS', async () => {
    const document = (await (await fetch(google.discoveryUrl)).json()) as Record<string, unknown>;

    expect(document).toMatchObject({
      issuer: 'https://accounts.google.com',
      jwks_uri: google.jwksUrl,
      authorization_endpoint: `${google.server.url}/o/oauth2/v2/auth`,
      token_endpoint: `${google.server.url}/token`,
      userinfo_endpoint: `${google.server.url}/v1/userinfo`,
      revocation_endpoint: `${google.server.url}/revoke`,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
    });
    expect(document.response_types_supported).toContain('id_token');
    expect(document.claims_supported).toEqual(
      expect.arrayContaining(['aud', 'email', 'email_verified', 'sub']),
    );
  });

  it('mints through its sandbox-only /admin/mint a token that verifies through the JWKS URL', async () => {
    const claims = {
      iss: GOOGLE_ISSUER,
      aud: 'https://broker.example',
      sub: '42',
      iat: 1,
      exp: 4_000_000_000,
    };

    const response = await fetch(`${google.server.url}/admin/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ claims, header: { typ: null } }),
    });
    const { token } = (await response.json()) as { token: string };
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(google.jwksUrl)), {
      currentDate: new Date(2_000_000_000_000),
    });

    expect(response.status).toBe(200);
    expect(payload).toEqual(claims);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: google.activeKid });
  });

  it('serves two RS256 keys at /oauth2/v3/certs in Google’s shape, with Cache-Control max-age', async () => {
    const response = await fetch(`${google.server.url}${GOOGLE_JWKS_PATH}`);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };

    expect(response.headers.get('Cache-Control')).toBe('public, max-age=1234, must-revalidate, no-transform');
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ alg: 'RS256', use: 'sig', kty: 'RSA', e: 'AQAB' });
    }
    expect(keys.map((key) => key.kid)).toContain(google.activeKid);
  });

  it('verifies a metadata-server token through the https JWKS URL, and refuses one signed elsewhere', async () => {
    const app = createGcpMetadataServer(vmAOptions(google));
    const impostor = createGcpMetadataServer(vmAOptions(await createOidcIssuer({ issuer: GOOGLE_ISSUER })));
    const path = `/computeMetadata/v1/instance/service-accounts/default/identity?format=full&audience=${AUDIENCE}`;
    const init = { headers: { 'Metadata-Flavor': 'Google' } };
    const jwks = createRemoteJWKSet(new URL(google.jwksUrl));

    const genuine = await jwtVerify(await (await app.request(path, init)).text(), jwks, {
      issuer: GOOGLE_ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256'],
    });
    const forged = await (await impostor.request(path, init)).text();

    expect(genuine.payload.sub).toBe(VM_A.defaultAccount.uniqueId);
    await expect(jwtVerify(forged, jwks, { issuer: GOOGLE_ISSUER })).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('keeps verifying after a rotation that leaves the previous key published', async () => {
    const app = createGcpMetadataServer(vmAOptions(google));
    await google.rotate();
    const token = await (
      await app.request(
        `/computeMetadata/v1/instance/service-accounts/default/identity?audience=${AUDIENCE}`,
        {
          headers: { 'Metadata-Flavor': 'Google' },
        },
      )
    ).text();

    const { protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(google.jwksUrl)));
    expect(protectedHeader.kid).toBe(google.activeKid);
  });
});

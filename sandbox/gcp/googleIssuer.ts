// Google's issuer `https://accounts.google.com` over https on loopback: discovery and JWKS in Google's shapes.
// Wraps sandbox/lib/oidcIssuer.ts (not modified) to add Google's discovery fields and the JWKS Cache-Control.
import { Hono } from 'hono';
import { createOidcIssuer, type OidcIssuer } from '../lib/oidcIssuer.js';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { GOOGLE_ISSUER } from './model.js';

/** Path Google serves its JWKS at (`https://www.googleapis.com/oauth2/v3/certs`, protocols.md §B.3). */
export const GOOGLE_JWKS_PATH = '/oauth2/v3/certs';

export interface GoogleIssuerOptions {
  /** Certificate and key for https (from the sandbox CA); Google's issuer is https only. */
  tls: PemPair;
  /** Port to bind; 0 (a free one) unless told. */
  port?: number;
  /** Loopback address to bind; 127.0.0.1 unless told. */
  host?: string;
  /**
   * `max-age` of the JWKS answer, in seconds; 21600 unless told. Google sends `public, max-age=<n>,
   * must-revalidate, no-transform` and google-auth-library caches certificates for that long; the value
   * varies from answer to answer and its usual range is not captured here. [UNCONFIRMED]
   */
  jwksMaxAgeSeconds?: number;
}

/** The started Google issuer: the OidcIssuer (to sign, rotate, fail) plus where it is served. */
export interface GoogleIssuer extends OidcIssuer {
  readonly server: RunningServer;
  /** `<base>/oauth2/v3/certs`. */
  readonly jwksUrl: string;
  /** `<base>/.well-known/openid-configuration`. */
  readonly discoveryUrl: string;
  close(): Promise<void>;
}

/**
 * Google's discovery document with every endpoint on the local base URL (paths as Google's; only the
 * JWKS is served, the others answer 404). `issuer` stays `https://accounts.google.com`: the launcher
 * routes that issuer here through its override map, never by rewriting `iss`. Pass the result, amended,
 * to `setDiscoveryOverrides` to forge a document without losing Google's shape.
 */
export function googleDiscoveryDocument(baseUrl: string): Record<string, unknown> {
  const base = baseUrl.replace(/\/$/, '');
  return {
    issuer: GOOGLE_ISSUER,
    authorization_endpoint: `${base}/o/oauth2/v2/auth`,
    device_authorization_endpoint: `${base}/device/code`,
    token_endpoint: `${base}/token`,
    userinfo_endpoint: `${base}/v1/userinfo`,
    revocation_endpoint: `${base}/revoke`,
    jwks_uri: `${base}${GOOGLE_JWKS_PATH}`,
    response_types_supported: [
      'code',
      'token',
      'id_token',
      'code token',
      'code id_token',
      'token id_token',
      'code token id_token',
      'none',
    ],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: [
      'aud',
      'email',
      'email_verified',
      'exp',
      'family_name',
      'given_name',
      'iat',
      'iss',
      'name',
      'picture',
      'sub',
    ],
    code_challenge_methods_supported: ['plain', 'S256'],
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ],
  };
}

/**
 * Starts the stand-in for `https://accounts.google.com` over https: RS256 keys, two published at a time as
 * Google's JWKS usually shows (the second signs nothing until a rotation), each with `kid`, `alg`,
 * `use: sig`, `kty`, `n`, `e`. Share one across every VM's metadata server: Google's keys are global.
 */
export async function startGoogleIssuer(options: GoogleIssuerOptions): Promise<GoogleIssuer> {
  const maxAge = options.jwksMaxAgeSeconds ?? 21600;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new Error('startGoogleIssuer: option jwksMaxAgeSeconds must be a non-negative integer');
  }
  const issuer = await createOidcIssuer({
    issuer: GOOGLE_ISSUER,
    algorithm: 'RS256',
    jwksPath: GOOGLE_JWKS_PATH,
  });
  await issuer.addKey({ alg: 'RS256' });

  const app = new Hono();
  app.use(GOOGLE_JWKS_PATH, async (c, next) => {
    await next();
    if (c.res.status === 200) {
      c.res.headers.set('Cache-Control', `public, max-age=${maxAge}, must-revalidate, no-transform`);
    }
  });
  app.route('/', issuer.app);

  const server = await serve(app, { tls: options.tls, port: options.port, host: options.host });
  issuer.setBaseUrl(server.url);
  issuer.setDiscoveryOverrides(googleDiscoveryDocument(server.url));
  return Object.assign(issuer, {
    server,
    jwksUrl: `${server.url}${GOOGLE_JWKS_PATH}`,
    discoveryUrl: `${server.url}/.well-known/openid-configuration`,
    close: () => server.close(),
  });
}

// A cluster's service-account token issuer over https: the API server's discovery, JWKS and TokenRequest signer.
// Wraps sandbox/lib/oidcIssuer.ts (not modified); shapes from kubernetes/kubernetes pkg/serviceaccount.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { createOidcIssuer, type OidcIssuer } from '../lib/oidcIssuer.js';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import {
  EXPIRATION_EXTENSION_SECONDS,
  issueClaims,
  type ServiceAccountTokenRequest,
  TokenRequestError,
} from './serviceAccountToken.js';

/** openidmetadata.go `JWKSPath`: where the API server serves its key set. */
export const KUBERNETES_JWKS_PATH = '/openid/v1/jwks';
/** openidmetadata.go `OpenIDConfigPath`. */
export const KUBERNETES_DISCOVERY_PATH = '/.well-known/openid-configuration';
// pkg/routes/openidmetadata.go: both answers carry this, overriding the API server's `private, no-cache`.
const CACHE_CONTROL = 'public, max-age=3600';

export interface KubernetesIssuerOptions {
  /**
   * `--service-account-issuer`, kept exactly (an AKS issuer ends in `/`): https, no query, no fragment, as
   * NewOpenIDMetadata requires. E.g. `https://kubernetes.default.svc.cluster.local`.
   */
  issuer: string;
  /** Certificate and key for https (from the sandbox CA). */
  tls: PemPair;
  port?: number;
  host?: string;
  /** Milliseconds since the epoch; Date.now unless told. */
  now?: () => number;
  /** `--api-audiences`; the issuer alone unless told, as the flag defaults. */
  apiAudiences?: readonly string[];
  /** `--service-account-max-token-expiration`, seconds; no cap unless told. */
  maxExpirationSeconds?: number;
  /** `--service-account-extend-token-expiration`; true unless told, as the flag defaults. */
  extendExpiration?: boolean;
  /** Lifetime of an extended token, seconds; one year (claims.go) unless told. */
  extendedExpirationSeconds?: number;
}

/** A TokenRequest's answer: `status.token` and `status.expirationTimestamp`. */
export interface ServiceAccountToken {
  token: string;
  /** Issue time + `spec.expirationSeconds` (what the kubelet schedules its refresh from). */
  expirationTimestamp: Date;
  /** The time of issue (`iat`). */
  issuedAt: Date;
  /** `spec.expirationSeconds` after any cap. */
  expirationSeconds: number;
}

/** The started issuer: the OidcIssuer (to rotate, fail, forge) plus where it is served and a token minter. */
export interface KubernetesIssuer extends OidcIssuer {
  readonly server: RunningServer;
  /** `<base><issuer path>/.well-known/openid-configuration`. */
  readonly discoveryUrl: string;
  /** `<base><issuer path>/openid/v1/jwks`. */
  readonly jwksUrl: string;
  /** `<base><issuer path>/admin` (sandbox-only routes of oidcIssuer.ts). */
  readonly adminUrl: string;
  /**
   * Answers a TokenRequest as kube-apiserver does: claims per `issueClaims`, header `{alg: RS256, kid}`
   * (no `typ`: jwt.go signs with no signer options). Rejects with a TokenRequestError.
   */
  mintServiceAccountToken(request: ServiceAccountTokenRequest): Promise<ServiceAccountToken>;
  close(): Promise<void>;
}

/** The issuer URL checks NewOpenIDMetadata applies; returns its path with no trailing slash. */
function issuerPath(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`startKubernetesIssuer: option issuer is not a URL: ${issuer}`);
  }
  if (url.protocol !== 'https:') throw new Error('startKubernetesIssuer: option issuer must use https');
  if (url.search || issuer.includes('?'))
    throw new Error('startKubernetesIssuer: option issuer may not have a query');
  if (url.hash || issuer.includes('#'))
    throw new Error('startKubernetesIssuer: option issuer may not have a fragment');
  return url.pathname.replace(/\/+$/, '');
}

const positiveInteger = (name: string, value: number | undefined): void => {
  if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
    throw new Error(`startKubernetesIssuer: option ${name} must be a positive integer`);
  }
};

/**
 * Starts the stand-in for a cluster's service-account issuer over https. Discovery and JWKS sit below the
 * issuer's own path on the local base URL (a root-path issuer serves them at the root, as the API server
 * does); the document keeps the configured `issuer` byte for byte and points `jwks_uri` at the local JWKS.
 * The discovery document has exactly the API server's five members; keys are RS256 `{use, kty, kid, alg,
 * n, e}`; both answers send `Cache-Control: public, max-age=3600`, the JWKS as `application/jwk-set+json`.
 */
export async function startKubernetesIssuer(options: KubernetesIssuerOptions): Promise<KubernetesIssuer> {
  const prefix = issuerPath(options.issuer);
  positiveInteger('maxExpirationSeconds', options.maxExpirationSeconds);
  positiveInteger('extendedExpirationSeconds', options.extendedExpirationSeconds);
  const apiAudiences = options.apiAudiences?.length ? [...options.apiAudiences] : [options.issuer];
  const now = options.now ?? (() => Date.now());
  const accountUids = new Map<string, string>();

  const issuer = await createOidcIssuer({
    issuer: options.issuer,
    algorithm: 'RS256',
    jwksPath: KUBERNETES_JWKS_PATH,
  });
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    const path = c.req.path.slice(prefix.length);
    if (c.res.status !== 200) return;
    if (path === KUBERNETES_JWKS_PATH) c.res.headers.set('Content-Type', 'application/jwk-set+json');
    if (path === KUBERNETES_JWKS_PATH || path === KUBERNETES_DISCOVERY_PATH) {
      c.res.headers.set('Cache-Control', CACHE_CONTROL);
    }
  });
  app.route(prefix || '/', issuer.app);

  const server = await serve(app, { tls: options.tls, port: options.port, host: options.host });
  const base = `${server.url}${prefix}`;
  issuer.setBaseUrl(base);
  // openidmetadata.go's openIDMetadata has only these members; undefined drops oidcIssuer's extra ones.
  issuer.setDiscoveryOverrides({
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    authorization_endpoint: undefined,
    claims_supported: undefined,
  });

  async function mintServiceAccountToken(request: ServiceAccountTokenRequest): Promise<ServiceAccountToken> {
    const accountKey = `${request.namespace}/${request.serviceAccount}`;
    let uid = request.serviceAccountUid ?? accountUids.get(accountKey);
    if (uid === undefined) uid = randomUUID();
    accountUids.set(accountKey, uid);
    const nowSeconds = Math.floor(now() / 1000);
    const issued = issueClaims(request, {
      issuer: options.issuer,
      apiAudiences,
      maxExpirationSeconds: options.maxExpirationSeconds,
      extendExpiration: options.extendExpiration ?? true,
      extendedExpirationSeconds: options.extendedExpirationSeconds ?? EXPIRATION_EXTENSION_SECONDS,
      nowSeconds,
      serviceAccountUid: uid,
    });
    return {
      token: await issuer.sign(issued.claims, { header: { typ: undefined } }),
      expirationTimestamp: new Date(issued.expirationTimestampSeconds * 1000),
      issuedAt: new Date(nowSeconds * 1000),
      expirationSeconds: issued.expirationSeconds,
    };
  }

  return Object.assign(issuer, {
    server,
    discoveryUrl: `${base}${KUBERNETES_DISCOVERY_PATH}`,
    jwksUrl: `${base}${KUBERNETES_JWKS_PATH}`,
    adminUrl: `${base}/admin`,
    mintServiceAccountToken,
    close: () => server.close(),
  });
}

export { TokenRequestError };

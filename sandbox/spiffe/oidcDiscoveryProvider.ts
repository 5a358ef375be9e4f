// SPIRE's OIDC discovery provider stand-in: discovery and /keys for one trust domain, over https on loopback.
// Source: spiffe/spire support/oidc-discovery-provider/handler.go (and domain_policy.go, config.go) at ef8527e.
import { type Context, Hono } from 'hono';
import type { JWK } from 'jose';
import { type RunningServer, type ServeOptions, serve } from '../lib/serve.js';
import type { SpireTrustDomain } from './trustDomain.js';

export interface SpireOidcProviderOptions extends ServeOptions {
  /** The trust domain whose JWT keys `/keys` publishes (shared state: rotations show at once). */
  trustDomain: SpireTrustDomain;
  /** The provider's own `jwt_issuer`; without it the issuer is `https://<Host>` of each request. */
  jwtIssuer?: string;
  /** `jwks_uri`; without it `<jwt_issuer origin+path>/keys`, or `https://<Host>/keys` without jwt_issuer. */
  jwksUri?: string;
  /** `set_key_use`: publish `use: "sig"` on every key (Entra's SPIFFE guidance sets it). */
  setKeyUse?: boolean;
  /** `domains`: Host names (or X-Forwarded-Host) discovery answers for; loopback names unless told. */
  domains?: readonly string[];
  /** `allow_insecure_scheme`: required to serve plain http (without `tls`). */
  allowInsecureScheme?: boolean;
  /** Answer `subject_types_supported: []` as SPIRE did before 1.12.4 (spiffe/spire#6126). */
  emptySubjectTypes?: boolean;
}

/** A running provider; `url` is its base URL (`https://127.0.0.1:<port>`). */
export interface SpireOidcProvider {
  readonly url: string;
  readonly server: RunningServer;
  readonly app: Hono;
  /** While true, `/keys` answers 500 "document not available", as before the provider's first bundle arrives. */
  setKeysetUnavailable(unavailable: boolean): void;
  close(): Promise<void>;
}

// Go's http.Error: the text and a newline, as text/plain, with nosniff.
const goError = (c: Context, message: string, statusCode: 400 | 404 | 405 | 500 | 501): Response =>
  c.body(`${message}\n`, statusCode, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
  });

/** cryptoutil.JoseAlgFromPublicKey: RS256 for any RSA key, ES256/ES384 by curve, "" (left out) otherwise. */
function algFromKey(jwk: JWK): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  return '';
}

const JSON_HEADERS = { 'content-type': 'application/json', 'access-control-allow-origin': '*' };

/**
 * Creates the provider's app: `GET /.well-known/openid-configuration` and `GET /keys` with SPIRE's documents,
 * headers and errors (any other method → 405 "method not allowed"; a Host not in `domains` → 400 on
 * discovery only; `/keys` never cached, 500 without a keyset, 501 for an empty one). No admin routes.
 */
export function createSpireOidcProviderApp(
  options: SpireOidcProviderOptions,
  state: { keysetUnavailable: boolean } = { keysetUnavailable: false },
): Hono {
  const domains = new Set(options.domains ?? ['localhost', '127.0.0.1', '::1']);
  const app = new Hono();
  const scheme = (c: Context): 'http' | 'https' =>
    options.allowInsecureScheme && !options.tls && c.req.header('x-forwarded-proto') !== 'https'
      ? 'http'
      : 'https';

  app.all('/.well-known/openid-configuration', (c) => {
    if (c.req.method !== 'GET') return goError(c, 'method not allowed', 405);
    // gorilla/handlers ProxyHeaders: X-Forwarded-Host replaces Host for discovery only.
    const host = c.req.header('x-forwarded-host') ?? c.req.header('host') ?? '';
    const issuer = options.jwtIssuer ?? `${scheme(c)}://${host}`;
    let jwksUri = options.jwksUri;
    if (jwksUri === undefined && options.jwtIssuer !== undefined) {
      // handler.go: with jwt_issuer and no jwks_uri, the 1.11.1 behaviour: the issuer's origin and path + /keys.
      const base = new URL(options.jwtIssuer);
      jwksUri = `${base.protocol}//${base.host}${base.pathname.replace(/\/$/, '')}/keys`;
    }
    jwksUri ??= `${scheme(c)}://${host}/keys`;
    // SplitHostPort, else the whole value; IPv6 literals come bracketed with a port.
    const domain = host.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1');
    if (!domains.has(domain)) return goError(c, `domain ${JSON.stringify(domain)} is not allowed`, 400);
    const document = {
      issuer,
      jwks_uri: jwksUri,
      authorization_endpoint: '',
      response_types_supported: ['id_token'],
      subject_types_supported: options.emptySubjectTypes ? [] : ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'ES384'],
    };
    return c.body(JSON.stringify(document, null, 2), 200, JSON_HEADERS);
  });

  app.all('/keys', (c) => {
    if (c.req.method !== 'GET') return goError(c, 'method not allowed', 405);
    if (state.keysetUnavailable) return goError(c, 'document not available', 500);
    const keys = options.trustDomain.jwks().keys;
    if (keys.length === 0) return goError(c, 'jwt not supported/enabled in this service', 501);
    const enriched = keys.map((jwk) => {
      const alg = algFromKey(jwk);
      // workload_api.go setJWKS clears `use`; handler.go enrichJwksKeys sets "sig" only with set_key_use.
      const { use: _use, alg: _alg, ...rest } = jwk;
      return { ...(options.setKeyUse ? { use: 'sig' } : {}), ...rest, ...(alg ? { alg } : {}) };
    });
    // http.ServeContent with the time the keyset last changed: Last-Modified and If-Modified-Since → 304.
    const modified = new Date(Math.floor(options.trustDomain.changedAt.getTime() / 1000) * 1000);
    const headers = {
      ...JSON_HEADERS,
      'cache-control': 'no-cache, no-store, must-revalidate',
      pragma: 'no-cache',
      expires: '0',
      'last-modified': modified.toUTCString(),
    };
    const since = Date.parse(c.req.header('if-modified-since') ?? '');
    if (!Number.isNaN(since) && modified.getTime() <= since) return c.body(null, 304, headers);
    return c.body(JSON.stringify({ keys: enriched }, null, 2), 200, headers);
  });

  app.notFound((c) => goError(c, '404 page not found', 404));
  return app;
}

/** Serves the provider on loopback: https with `tls`, plain http only with `allowInsecureScheme`. */
export async function startSpireOidcProvider(options: SpireOidcProviderOptions): Promise<SpireOidcProvider> {
  if (!options.tls && !options.allowInsecureScheme) {
    throw new Error('tls is required unless allowInsecureScheme is set (SPIRE serves https only by default)');
  }
  const state = { keysetUnavailable: false };
  const app = createSpireOidcProviderApp(options, state);
  const server = await serve(app, options);
  return {
    url: server.url,
    server,
    app,
    setKeysetUnavailable(unavailable) {
      state.keysetUnavailable = unavailable;
    },
    close: () => server.close(),
  };
}

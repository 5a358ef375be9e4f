// A generic stand-in OpenID Connect issuer: discovery, JWKS and a signer that can also forge bad tokens.
// Other stand-ins reuse it to impersonate a real issuer (accounts.google.com, GitHub, a Kubernetes cluster).
// Keys are generated in memory with jose at start-up; no private key ever touches the disk.

import { type Context, Hono } from 'hono';
import { CompactSign, type CryptoKey, exportJWK, generateKeyPair, type JWK } from 'jose';
import { type RunningServer, type ServeOptions, serve } from './serve.js';

/** Signature algorithms the stand-in issuer can sign with. */
export type IssuerAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';

export interface OidcIssuerOptions {
  /** The real `iss` value impersonated, e.g. `https://accounts.google.com`; never rewritten. */
  issuer: string;
  /** Algorithm of the initial signing key; RS256 unless told. */
  algorithm?: IssuerAlgorithm;
  /** Path of the JWKS below the base URL; `/jwks` unless told (Google uses `/oauth2/v3/certs`). */
  jwksPath?: string;
  /** Publish `use: "sig"` on every key (true unless told; SPIRE without `set_key_use` omits it). */
  publishKeyUse?: boolean;
  /** Base URL this app is reachable at, when known up front; `setBaseUrl` sets it later. */
  baseUrl?: string;
}

export interface AddKeyOptions {
  alg?: IssuerAlgorithm;
  /** Key id; a random one unless told. */
  kid?: string;
  /** Publish the public key in the JWKS (true unless told): false forges a key the verifier cannot know. */
  publish?: boolean;
  /** Make it the key `sign` uses by default (false unless told). */
  activate?: boolean;
}

export interface SignOptions {
  /** Signs with this key; the active key unless told. The header `kid` follows unless `header` overrides it. */
  kid?: string;
  /**
   * Header fields merged over the default `{alg, kid, typ: "JWT"}`. A field set to `undefined` is removed
   * (e.g. `{ typ: undefined }`), which is how tests forge a missing `typ` or `kid`. `alg` cannot be
   * changed: the signature must be made with the key's own algorithm.
   */
  header?: Record<string, unknown>;
}

/** How an endpoint of the issuer misbehaves; undefined restores normal service. */
export interface IssuerFailure {
  /** Answer with this HTTP status and a short text body. */
  status?: number;
  /** Drop the connection without answering (real sockets only). */
  unreachable?: boolean;
  /** Answer this raw body with status 200 instead of the real document (e.g. invalid JSON). */
  body?: string;
  /** Delay before answering, in milliseconds. */
  latencyMs?: number;
}

export type IssuerEndpoint = 'discovery' | 'jwks';

interface KeyEntry {
  kid: string;
  alg: IssuerAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
  published: boolean;
}

/** A stand-in OIDC issuer: a Hono app serving discovery and JWKS, plus a signer. */
export interface OidcIssuer {
  readonly issuer: string;
  readonly app: Hono;
  /** Where this issuer is served; undefined until `setBaseUrl` (or `startOidcIssuer`). */
  readonly baseUrl: string | undefined;
  /** Key id `sign` uses when none is named. */
  readonly activeKid: string;
  /** Requests answered so far, per endpoint (to assert cache and refetch behaviour). */
  readonly requestCounts: Readonly<Record<IssuerEndpoint, number>>;
  setBaseUrl(url: string): void;
  /** Signs the claims as given: nothing is added, so tests control `iat`, `exp` and everything else. */
  sign(claims: Readonly<Record<string, unknown>>, options?: SignOptions): Promise<string>;
  addKey(options?: AddKeyOptions): Promise<string>;
  /** Adds a new active key; the previous one stays published unless `retirePrevious`. */
  rotate(options?: { alg?: IssuerAlgorithm; retirePrevious?: boolean }): Promise<string>;
  /** Stops publishing a key (it can still sign, forging tokens for a retired key). */
  unpublishKey(kid: string): void;
  /**
   * Publishes `count` extra public RSA keys that sign nothing, placed before (default) or after the real
   * ones, to push a real key past a verifier's key limit. They share one modulus to keep set-up fast.
   */
  publishDecoyKeys(count: number, placement?: 'first' | 'last'): Promise<void>;
  /** Fields merged over the discovery document (e.g. a different `issuer` or `jwks_uri`). */
  setDiscoveryOverrides(fields: Readonly<Record<string, unknown>> | undefined): void;
  fail(endpoint: IssuerEndpoint, failure: IssuerFailure | undefined): void;
  discoveryDocument(): Record<string, unknown>;
  jwks(): { keys: JWK[] };
}

const randomKid = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates an issuer with one active key of `options.algorithm` (RS256 unless told). */
export async function createOidcIssuer(options: OidcIssuerOptions): Promise<OidcIssuer> {
  const jwksPath = options.jwksPath ?? '/jwks';
  const publishUse = options.publishKeyUse ?? true;
  const keys: KeyEntry[] = [];
  const decoys: { first: JWK[]; last: JWK[] } = { first: [], last: [] };
  const failures: Partial<Record<IssuerEndpoint, IssuerFailure>> = {};
  const requestCounts: Record<IssuerEndpoint, number> = { discovery: 0, jwks: 0 };
  let discoveryOverrides: Readonly<Record<string, unknown>> | undefined;
  let baseUrl = options.baseUrl?.replace(/\/$/, '');
  let activeKid = '';

  const toPublicJwk = (entry: Pick<KeyEntry, 'kid' | 'alg' | 'publicJwk'>): JWK => ({
    ...entry.publicJwk,
    kid: entry.kid,
    alg: entry.alg,
    ...(publishUse ? { use: 'sig' } : {}),
  });

  async function addKey(add: AddKeyOptions = {}): Promise<string> {
    const alg = add.alg ?? options.algorithm ?? 'RS256';
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = add.kid ?? randomKid();
    keys.push({
      kid,
      alg,
      privateKey: pair.privateKey,
      publicJwk: await exportJWK(pair.publicKey),
      published: add.publish ?? true,
    });
    if (add.activate) activeKid = kid;
    return kid;
  }

  const unpublishKey = (kid: string): void => {
    for (const entry of keys) if (entry.kid === kid) entry.published = false;
  };

  const jwks = (): { keys: JWK[] } => ({
    keys: [...decoys.first, ...keys.filter((k) => k.published).map(toPublicJwk), ...decoys.last],
  });

  const discoveryDocument = (): Record<string, unknown> => {
    const base = baseUrl ?? options.issuer;
    return {
      issuer: options.issuer,
      jwks_uri: `${base}${jwksPath}`,
      authorization_endpoint: `${base}/authorize`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))],
      claims_supported: ['aud', 'exp', 'iat', 'iss', 'sub'],
      ...discoveryOverrides,
    };
  };

  const app = new Hono();
  const serveWithFailures = (endpoint: IssuerEndpoint, produce: () => unknown) => async (c: Context) => {
    requestCounts[endpoint] += 1;
    const failure = failures[endpoint];
    if (failure?.latencyMs) await sleep(failure.latencyMs);
    if (failure?.unreachable) {
      // Destroying the socket is what "unreachable" looks like to a client mid-request.
      const incoming = (c.env as { incoming?: { socket?: { destroy(): void } } } | undefined)?.incoming;
      incoming?.socket?.destroy();
      return c.body(null, 502);
    }
    if (failure?.status) return c.text(`stand-in failure ${failure.status}`, failure.status as 500);
    if (failure?.body !== undefined) return c.body(failure.body, 200, { 'content-type': 'application/json' });
    return c.json(produce() as object);
  };
  app.get('/.well-known/openid-configuration', serveWithFailures('discovery', discoveryDocument));
  app.get(jwksPath, serveWithFailures('jwks', jwks));

  activeKid = await addKey({ activate: true });

  return {
    issuer: options.issuer,
    app,
    get baseUrl() {
      return baseUrl;
    },
    get activeKid() {
      return activeKid;
    },
    requestCounts,
    setBaseUrl(url) {
      baseUrl = url.replace(/\/$/, '');
    },
    async sign(claims, signOptions = {}) {
      const kid = signOptions.kid ?? activeKid;
      const entry = keys.find((k) => k.kid === kid);
      if (!entry) throw new Error(`oidcIssuer: no private key with kid ${kid}`);
      const header: Record<string, unknown> = { alg: entry.alg, kid, typ: 'JWT', ...signOptions.header };
      header.alg = entry.alg;
      for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
      return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader(header as { alg: string })
        .sign(entry.privateKey);
    },
    addKey,
    async rotate(rotateOptions = {}) {
      const previous = activeKid;
      const kid = await addKey({ alg: rotateOptions.alg, activate: true });
      if (rotateOptions.retirePrevious) unpublishKey(previous);
      return kid;
    },
    unpublishKey,
    async publishDecoyKeys(count, placement = 'first') {
      const { publicKey } = await generateKeyPair('RS256', { extractable: true });
      const template = await exportJWK(publicKey);
      const list = decoys[placement];
      const offset = decoys.first.length + decoys.last.length;
      for (let i = 0; i < count; i += 1) {
        list.push({
          ...template,
          kid: `decoy-${offset + i}`,
          alg: 'RS256',
          ...(publishUse ? { use: 'sig' } : {}),
        });
      }
    },
    setDiscoveryOverrides(fields) {
      discoveryOverrides = fields;
    },
    fail(endpoint, failure) {
      failures[endpoint] = failure;
    },
    discoveryDocument,
    jwks,
  };
}

/** Creates an issuer and serves it on loopback (https when `tls` is given); its base URL is set. */
export async function startOidcIssuer(
  options: OidcIssuerOptions & ServeOptions,
): Promise<OidcIssuer & { server: RunningServer }> {
  const issuer = await createOidcIssuer(options);
  const server = await serve(issuer.app, options);
  issuer.setBaseUrl(server.url);
  return Object.assign(issuer, { server });
}

// A generic stand-in OpenID Connect issuer: discovery, JWKS, a signer that forges bad tokens, /admin routes.
// Other stand-ins reuse it to impersonate a real issuer (accounts.google.com, GitHub, a Kubernetes cluster).
// Keys are generated in memory with node:crypto; no private key ever touches the disk.

import { constants, generateKeyPair, type KeyObject, sign as signBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type Context, Hono } from 'hono';
import type { JWK } from 'jose';
import { adminRoutes, IssuerRequestError } from './issuerAdmin.js';
import { type RunningServer, type ServeOptions, serve } from './serve.js';

export { IssuerRequestError } from './issuerAdmin.js';

/** Algorithms a stand-in issuer key can be generated for (the key's own algorithm, published as `alg`). */
export type IssuerAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';

const ISSUER_ALGORITHMS: readonly IssuerAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;

/**
 * Algorithms `signRaw` can sign under: any RSA one with an RSA key (whatever its own `alg`), and with an
 * EC key only its curve's own (ES256 for P-256, ES384 for P-384).
 */
export type RawSigningAlgorithm = (typeof RSA_ALGORITHMS)[number] | 'ES256' | 'ES384';

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
  /**
   * RSA modulus in bits, 512 to 8192; 2048 unless told. Below 2048 publishes a weak key on purpose (jose
   * refuses to generate or use one, so keys come from node:crypto). RSA algorithms only.
   */
  modulusLength?: number;
  /**
   * Extra members of the published JWK, applied last so they override `kid`, `alg` and `use` (e.g.
   * `{ use: 'enc' }`, `{ key_ops: ['encrypt'] }`); a member set to null is left out of the JWK.
   */
  jwkFields?: Readonly<Record<string, unknown>>;
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

/**
 * What `signRaw` (and `POST /admin/mint`) signs. Give exactly one of `claims` and `payloadJson`, and at
 * most one of `header` and `headerJson`. Nothing is checked against JOSE or JWT rules: any header is signed.
 */
export interface SignRawOptions {
  /** The payload, serialised with JSON.stringify; nothing is added. */
  claims?: Readonly<Record<string, unknown>>;
  /** The payload bytes exactly as given (UTF-8): duplicate member names, an array, even text not JSON. */
  payloadJson?: string;
  /**
   * Fields merged over the default `{alg, kid, typ: "JWT"}`; a field set to null is removed. An `alg` here
   * only changes what the header says (the signature still follows `alg` below), forging a mismatch.
   */
  header?: Readonly<Record<string, unknown>>;
  /** The protected header bytes exactly as given (UTF-8); no default field is added. */
  headerJson?: string;
  /** Signs with this key; the active key unless told. The default header `kid` follows. */
  kid?: string;
  /** Signs under this algorithm of the key's type, not the key's own; the default header `alg` follows. */
  alg?: string;
}

export type IssuerEndpoint = 'discovery' | 'jwks';

interface KeyEntry {
  kid: string;
  alg: IssuerAlgorithm;
  /** node:crypto keys rather than CryptoKeys: an RSA one then signs under PKCS#1 v1.5 and PSS alike. */
  privateKey: KeyObject;
  publicJwk: JWK;
  published: boolean;
  jwkFields: Readonly<Record<string, unknown>> | undefined;
}

/** A stand-in OIDC issuer: a Hono app (discovery, JWKS, `/admin`: see `createOidcIssuer`) and a signer. */
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
  /**
   * Signs any header and payload bytes with a private key of this issuer, computing the signature itself
   * (jose refuses headers such as `crit: ["exp"]` or `b64: false`). Returns the compact JWS
   * `base64url(header).base64url(payload).base64url(signature)`. Throws an `IssuerRequestError`: 404 for
   * an unknown `kid`, 400 for anything else refused.
   */
  signRaw(options: SignRawOptions): string;
  /** Generates a key (appended after the existing ones) and returns its kid; see `AddKeyOptions`. */
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

const generateKeyPairAsync = promisify(generateKeyPair);

const generateKeys = (alg: IssuerAlgorithm, modulusLength = 2048) =>
  alg.startsWith('ES')
    ? generateKeyPairAsync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
    : // A plain `rsa` key (never `rsa-pss`), so the same key can also sign under the other RSA algorithms.
      generateKeyPairAsync('rsa', { modulusLength });

const withoutNulls = (fields: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined));

const fitsKey = (keyAlg: IssuerAlgorithm, alg: string): alg is RawSigningAlgorithm =>
  keyAlg.startsWith('ES') ? alg === keyAlg : (RSA_ALGORITHMS as readonly string[]).includes(alg);

/** The JWS signature over `input` (RFC 7518 §3), computed with node:crypto so no header rule applies. */
function rawSignature(alg: RawSigningAlgorithm, key: KeyObject, input: Buffer): Buffer {
  const bits = Number(alg.slice(2));
  const hash = `sha${bits}`;
  if (alg.startsWith('PS')) {
    // RFC 7518 §3.5: MGF1 over the same hash, and a salt as long as the hash output.
    return signBytes(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 });
  }
  // RFC 7518 §3.4: an ECDSA signature is R || S at fixed length, not the DER that OpenSSL emits by default.
  if (alg.startsWith('ES')) return signBytes(hash, input, { key, dsaEncoding: 'ieee-p1363' });
  return signBytes(hash, input, key);
}

/** A compact JWS over the header and payload bytes as given (RFC 7515 §5.1). */
function compactJws(alg: RawSigningAlgorithm, key: KeyObject, header: string, payload: string): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${rawSignature(alg, key, Buffer.from(input)).toString('base64url')}`;
}

/**
 * Creates an issuer with one active key of `options.algorithm` (RS256 unless told). Its `app` serves
 * discovery, the JWKS, and these admin routes (sandbox only; no real issuer has them, and they need no
 * authentication, so the app is only ever bound to loopback). They let a test in another process mint
 * correctly signed tokens with hostile headers and claims, so claim checks are tested past the signature.
 *
 * - `POST /admin/mint`, JSON body of `SignRawOptions` fields (`claims` | `payloadJson`, `header` |
 *   `headerJson`, `kid`, `alg`) → 200 `{"token": "<compact JWS>"}`; an unknown `kid` → 404; bad JSON,
 *   an unknown field, a wrong type, both or neither payload, both headers, or an `alg` unfit for the
 *   key → 400. Every error is `{"error": "<what is wrong>"}`.
 * - `POST /admin/keys`, JSON body of `AddKeyOptions` fields (`alg`, `kid`, `modulusLength`, `publish`,
 *   `activate`, `jwkFields`) → 201 `{"kid": "..."}`: the key is appended after the existing ones and
 *   signs through `/admin/mint`. Errors as above (400).
 */
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

  const toPublicJwk = (entry: KeyEntry): JWK =>
    withoutNulls({
      ...entry.publicJwk,
      kid: entry.kid,
      alg: entry.alg,
      ...(publishUse ? { use: 'sig' } : {}),
      ...entry.jwkFields,
    }) as JWK;

  async function addKey(add: AddKeyOptions = {}): Promise<string> {
    const alg = add.alg ?? options.algorithm ?? 'RS256';
    const bits = add.modulusLength;
    if (bits !== undefined && alg.startsWith('ES')) {
      throw new IssuerRequestError(400, `modulusLength applies to RSA keys only, not ${alg}`);
    }
    // 512 is OpenSSL's floor; above 8192 generation takes long enough to stall the stand-in.
    if (bits !== undefined && (!Number.isSafeInteger(bits) || bits < 512 || bits > 8192)) {
      throw new IssuerRequestError(400, 'modulusLength must be an integer from 512 to 8192');
    }
    const pair = await generateKeys(alg, bits);
    const kid = add.kid ?? randomKid();
    keys.push({
      kid,
      alg,
      privateKey: pair.privateKey,
      publicJwk: pair.publicKey.export({ format: 'jwk' }) as JWK,
      published: add.publish ?? true,
      jwkFields: add.jwkFields && { ...add.jwkFields },
    });
    if (add.activate) activeKid = kid;
    return kid;
  }

  const privateKey = (kid: string): KeyEntry => {
    const entry = keys.find((k) => k.kid === kid);
    if (!entry) throw new IssuerRequestError(404, `no private key with kid ${kid}`);
    return entry;
  };

  function signRaw(request: SignRawOptions): string {
    if ((request.claims === undefined) === (request.payloadJson === undefined)) {
      throw new IssuerRequestError(400, 'give exactly one of claims and payloadJson');
    }
    if (request.header !== undefined && request.headerJson !== undefined) {
      throw new IssuerRequestError(400, 'give at most one of header and headerJson');
    }
    const kid = request.kid ?? activeKid;
    const entry = privateKey(kid);
    const alg = request.alg ?? entry.alg;
    if (!fitsKey(entry.alg, alg)) {
      throw new IssuerRequestError(400, `alg ${alg} does not fit key ${kid}, generated for ${entry.alg}`);
    }
    const header =
      request.headerJson ?? JSON.stringify(withoutNulls({ alg, kid, typ: 'JWT', ...request.header }));
    return compactJws(alg, entry.privateKey, header, request.payloadJson ?? JSON.stringify(request.claims));
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
  app.route('/admin', adminRoutes({ signRaw, addKey }, ISSUER_ALGORITHMS));

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
      // The same bytes jose's CompactSign would produce (JSON.stringify of header and claims).
      return compactJws(entry.alg, entry.privateKey, JSON.stringify(header), JSON.stringify(claims));
    },
    signRaw,
    addKey,
    async rotate(rotateOptions = {}) {
      const previous = activeKid;
      const kid = await addKey({ alg: rotateOptions.alg, activate: true });
      if (rotateOptions.retirePrevious) unpublishKey(previous);
      return kid;
    },
    unpublishKey,
    async publishDecoyKeys(count, placement = 'first') {
      const { publicKey } = await generateKeys('RS256');
      const template = publicKey.export({ format: 'jwk' }) as JWK;
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

// The Amazon Cognito identity-pool stand-in (issue 8): Cognito Identity's AWS JSON 1.1 API at `POST /` and
// the issuer `https://cognito-identity.amazonaws.com` (discovery, JWKS) on one https server on loopback, so
// `new CognitoIdentityClient({ endpoint, region })` works unchanged. Documented in ./README.md.
import { Hono } from 'hono';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { CognitoCounters, CognitoFaults, cognitoAdminRoutes } from './cognitoAdmin.js';
import {
  getId,
  getOpenIdToken,
  getOpenIdTokenForDeveloperIdentity,
  type OperationContext,
} from './cognitoOperations.js';
import { type CognitoPoolSeed, CognitoPools } from './cognitoPools.js';
import {
  COGNITO_ISSUER,
  COGNITO_JWKS_PATH,
  type CognitoSigner,
  type CognitoTokenHeader,
  createCognitoSigner,
} from './cognitoToken.js';
import {
  CognitoError,
  type CognitoErrorType,
  type CognitoOperation,
  commonHeaders,
  DEFAULT_ERROR_STATUS,
  OPERATIONS,
  parseInput,
  sendError,
  sendJson,
  TARGET_PREFIX,
} from './cognitoWire.js';
import type { AwsDirectory, AwsPrincipalSeed } from './model.js';
import { type SigV4Failure, verifySigV4 } from './sigv4.js';

/** Injectable time source, epoch milliseconds (token `iat`/`exp`, the SigV4 window, the `Date` header). */
export interface CognitoClock {
  now(): number;
}

/** Options of `startCognitoStandIn`; only `tls`, `region`, `directory` and `pools` are required. */
export interface CognitoStandInOptions {
  /** Certificate for https (from the sandbox CA): the issuer is https only. */
  tls: PemPair;
  /** Port to bind; 0 (a free one) unless told. */
  port?: number;
  /** Loopback address to bind; 127.0.0.1 unless told. */
  host?: string;
  /** The region the endpoint answers for (SigV4 scope, identity ids, every pool id's prefix). */
  region: string;
  /** The sandbox's IAM principals; developer calls are signed with their keys. */
  directory: AwsDirectory;
  pools: readonly CognitoPoolSeed[];
  /** The issued tokens' header; `{typ: "JWS", alg: "RS512"}` unless told (observed, UNCONFIRMED). */
  tokenHeader?: CognitoTokenHeader;
  clock?: CognitoClock;
  /** Status per error `__type`, over `DEFAULT_ERROR_STATUS` (the UNCONFIRMED ones in particular). */
  errorStatuses?: Partial<Record<CognitoErrorType, number>>;
}

/** A started stand-in: where it is, and handles on its state for tests and the launcher. */
export interface CognitoStandIn {
  /** The endpoint for `CognitoIdentityClient`, `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** `https://cognito-identity.amazonaws.com`, the `iss` of every token (never rewritten). */
  readonly issuer: string;
  /** `<url>/.well-known/openid-configuration`; map the issuer to `url` in a verifier's discovery overrides. */
  readonly discoveryUrl: string;
  /** `<url>/.well-known/jwks_uri`. */
  readonly jwksUrl: string;
  readonly pools: CognitoPools;
  /** The token signer: its header, and the generic issuer (rotate keys, fail discovery or JWKS). */
  readonly signer: CognitoSigner;
  readonly faults: CognitoFaults;
  readonly counters: CognitoCounters;
  readonly app: Hono;
  close(): Promise<void>;
}

const SERVICE = 'cognito-identity';
/** The JWKS may be cached for 30 days (§C.3, [doc] A2); the exact header value is UNCONFIRMED. */
const JWKS_CACHE_CONTROL = 'max-age=2592000';

// Each SigV4 failure as a JSON 1.1 service names it (types observed on JSON 1.1 services, README table).
const SIGV4_ERRORS: Record<SigV4Failure, CognitoErrorType> = {
  missing: 'MissingAuthenticationTokenException',
  malformed: 'IncompleteSignatureException',
  unknownKey: 'UnrecognizedClientException',
  wrongScope: 'InvalidSignatureException',
  expiredSignature: 'InvalidSignatureException',
  expiredToken: 'ExpiredTokenException',
  badSignature: 'InvalidSignatureException',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Verifies a developer call's SigV4 signature; returns the caller, or throws the JSON 1.1 refusal. */
async function authenticate(
  request: Request,
  body: Buffer,
  options: CognitoStandInOptions,
  now: number,
): Promise<AwsPrincipalSeed> {
  const { pathname, search } = new URL(request.url);
  const received = {
    method: request.method,
    url: pathname + search,
    headers: Object.fromEntries(request.headers),
    body,
  };
  const scope = { service: SERVICE, region: options.region, directory: options.directory, now };
  const verified = await verifySigV4(received, scope);
  if (!verified.ok) throw new CognitoError(SIGV4_ERRORS[verified.failure], verified.message);
  return verified.principal;
}

/**
 * Starts the stand-in over https. `POST /` with `X-Amz-Target: AWSCognitoIdentityService.<Op>` serves
 * GetId and GetOpenIdToken (unsigned) and GetOpenIdTokenForDeveloperIdentity (SigV4, service
 * `cognito-identity`, verified against `directory`); other targets get UnknownOperationException. The
 * issuer's discovery and JWKS are served at Cognito's paths, and `/admin` holds the test-only routes of
 * ./cognitoAdmin.ts and ../lib/issuerAdmin.ts. Throws, naming the pool, when a pool seed is unusable.
 */
export async function startCognitoStandIn(options: CognitoStandInOptions): Promise<CognitoStandIn> {
  const clock = options.clock ?? { now: () => Date.now() };
  const statuses: Record<string, number> = { ...DEFAULT_ERROR_STATUS, ...options.errorStatuses };
  const pools = new CognitoPools(options.region, options.pools);
  const signer = await createCognitoSigner(options.region, options.tokenHeader);
  const faults = new CognitoFaults();
  const counters = new CognitoCounters();
  const context: OperationContext = { region: options.region, pools, signer, now: () => clock.now() };

  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(commonHeaders(clock.now()))) c.res.headers.set(name, value);
    if (c.req.path === COGNITO_JWKS_PATH && c.res.status === 200) {
      c.res.headers.set('cache-control', JWKS_CACHE_CONTROL);
    }
  });
  app.route('/admin', cognitoAdminRoutes(faults, counters));

  app.post('/', async (c) => {
    const target = c.req.header('x-amz-target') ?? '';
    const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const op = (OPERATIONS as string[]).includes(name) ? (name as CognitoOperation) : undefined;
    const fail = (type: string, message: string, status = statuses[type] ?? 400, headers = {}) => {
      counters.record(op, status);
      return sendError(c, type, message, status, headers);
    };
    const fault = faults.take(op);
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.type !== undefined) {
      const retry = fault.retryAfterSeconds;
      return fail(
        fault.type,
        fault.message ?? '',
        fault.status,
        retry === undefined ? {} : { 'retry-after': `${retry}` },
      );
    }
    try {
      if (op === undefined)
        throw new CognitoError('UnknownOperationException', `Unknown operation ${target}`);
      const body = Buffer.from(await c.req.arrayBuffer());
      const text = body.toString('utf8');
      let result: unknown;
      if (op === 'GetOpenIdTokenForDeveloperIdentity') {
        // Coral authenticates before it validates the input: a bad signature wins over a bad body.
        const caller = await authenticate(c.req.raw, body, options, clock.now());
        result = await getOpenIdTokenForDeveloperIdentity(context, parseInput(op, text), caller);
      } else if (op === 'GetId') {
        result = await getId(context, parseInput(op, text));
      } else {
        result = await getOpenIdToken(context, parseInput(op, text));
      }
      counters.record(op, 200);
      return sendJson(c, result);
    } catch (error) {
      if (error instanceof CognitoError) return fail(error.type, error.message);
      console.error('cognito stand-in: internal error', error);
      return fail('InternalErrorException', 'An internal error occurred.');
    }
  });
  app.route('/', signer.issuer.app);

  const server: RunningServer = await serve(app, {
    tls: options.tls,
    port: options.port,
    host: options.host,
  });
  signer.issuer.setBaseUrl(server.url);
  // Only the issuer and jwks_uri are known for the real document; the rest is UNCONFIRMED.
  signer.issuer.setDiscoveryOverrides({
    authorization_endpoint: undefined,
    id_token_signing_alg_values_supported: [signer.header.alg],
    claims_supported: ['amr', 'aud', 'exp', 'iat', 'iss', 'sub'],
  });
  return {
    url: server.url,
    port: server.port,
    issuer: COGNITO_ISSUER,
    discoveryUrl: `${server.url}/.well-known/openid-configuration`,
    jwksUrl: `${server.url}${COGNITO_JWKS_PATH}`,
    pools,
    signer,
    faults,
    counters,
    app,
    close: () => server.close(),
  };
}

// A regional AWS STS stand-in over https on loopback (issue 8): the query protocol as @aws-sdk/client-sts
// speaks it, GetCallerIdentity and GetWebIdentityToken behind real SigV4 verification, each enabled
// account's web identity issuer, and sandbox-only faults and counters. See sandbox/aws/README.md.
import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { type AwsDirectory, type AwsPrincipalSeed, callerArn, callerUserId } from './model.js';
import { verifySigV4 } from './sigv4.js';
import { faultResponse, StsCounters, type StsFault, StsFaults, stsAdminRoutes } from './stsAdmin.js';
import {
  errorResponse,
  invalidAction,
  isStsError,
  MISSING_ACTION_LOCATION,
  queryParameters,
  redirectResponse,
  resultXml,
  STS_VERSION,
  type StsError,
  sigV4Error,
  xmlResponse,
} from './stsWire.js';
import {
  createAccountIssuers,
  issuerEndpoint,
  mintWebIdentityToken,
  mountAccountIssuers,
  type WebIdentityIssuerEndpoint,
} from './webIdentity.js';
import { parseWebIdentityTokenRequest } from './webIdentityRequest.js';

export type { StsFault } from './stsAdmin.js';
export type { WebIdentityIssuerEndpoint } from './webIdentity.js';

/** Wall-clock time source, epoch milliseconds; injected so tests control signing windows and `iat`. */
export interface StsClock {
  now(): number;
}

export interface StsStandInOptions {
  /** Certificate and key for https (from the sandbox CA); STS is https only. */
  tls: PemPair;
  /** Port to bind; 0 (a free one) unless told. */
  port?: number;
  /** Loopback address to bind; 127.0.0.1 unless told. */
  host?: string;
  directory: AwsDirectory;
  /** The region this regional endpoint answers for: SigV4 scope and the tokens' `source_region`. */
  region: string;
  clock?: StsClock;
  /**
   * How far `X-Amz-Date` may be from now, in seconds; 900 unless told. STS's own errors read
   * "(… - 15 min.)" (aws-cli#6676, GetCallerIdentity), not the 5 minutes of some other services.
   */
  signatureWindowSeconds?: number;
}

/** A started STS stand-in. */
export interface StsStandIn {
  /** `https://127.0.0.1:<port>`: the SDK's `endpoint`. */
  readonly url: string;
  readonly region: string;
  readonly server: RunningServer;
  /** Per account id, for accounts with outbound web identity federation enabled. */
  readonly webIdentityIssuers: ReadonlyMap<string, WebIdentityIssuerEndpoint>;
  /** Requests that reached the STS endpoint, per Action (as `GET /admin/counters`). */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Sets or (undefined) clears the fault, as `POST` / `DELETE /admin/faults`; throws on a bad fault. */
  setFault(fault: StsFault | undefined): void;
  close(): Promise<void>;
}

const ACTIONS = new Set(['GetCallerIdentity', 'GetWebIdentityToken']);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Starts the stand-in. Order of checks for a request to `/` (GET or POST): count it; an injected fault;
 * no Action → 302 to https://aws.amazon.com/iam (the query kept); unknown Action or Version → 400
 * InvalidAction; SigV4 (service `sts`, `options.region`) → STS's auth errors; the operation's parameters;
 * the operation. Resolving the operation before authenticating follows from STS serving unauthenticated
 * operations (AssumeRoleWithWebIdentity) on the same endpoint; the rest of the order is UNCONFIRMED.
 */
export async function startStsStandIn(options: StsStandInOptions): Promise<StsStandIn> {
  const clock = options.clock ?? { now: () => Date.now() };
  const windowSeconds = options.signatureWindowSeconds ?? 900;
  const { directory, region } = options;
  const issuers = await createAccountIssuers(directory);
  const faults = new StsFaults();
  const counters = new StsCounters();

  async function getWebIdentityToken(
    parameters: ReadonlyMap<string, string>,
    principal: AwsPrincipalSeed,
    nowMs: number,
  ) {
    const account = directory.account(principal.account);
    if (!account) throw new Error(`sts stand-in: no account ${principal.account} in the directory`);
    const request = parseWebIdentityTokenRequest(parameters);
    if (isStsError(request)) return request;
    const issuer = issuers.get(account.id);
    if (!issuer) {
      // Message UNCONFIRMED: the SDK documents the exception (403) but not its text.
      return {
        status: 403,
        code: 'OutboundWebIdentityFederationDisabledException',
        message: 'The outbound web identity federation feature is not enabled for this account.',
      } satisfies StsError;
    }
    const nowSeconds = Math.floor(nowMs / 1000);
    if (
      principal.sessionExpiresAt !== undefined &&
      nowSeconds + request.durationSeconds > principal.sessionExpiresAt
    ) {
      // 403 from the SDK's model; the message is UNCONFIRMED.
      return {
        status: 403,
        code: 'SessionDurationEscalationException',
        message: 'The requested token duration would extend the session beyond its original expiration time.',
      } satisfies StsError;
    }
    const { token, expiresAt } = await mintWebIdentityToken({
      issuer,
      account,
      principal,
      request,
      region,
      nowMs,
    });
    // ISO 8601 in whole seconds, as STS writes other Expiration members (its layout here is UNCONFIRMED).
    const expiration = new Date(expiresAt * 1000).toISOString().replace('.000Z', 'Z');
    return [
      ['WebIdentityToken', token],
      ['Expiration', expiration],
    ] as const;
  }

  async function handle(c: Context): Promise<Response> {
    const nowMs = clock.now();
    const requestId = randomUUID();
    // The raw request line, not the URL Hono rebuilt: SigV4 signs the path and query as sent.
    const rawUrl = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
    const url = new URL(c.req.url);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const body = Buffer.from(await c.req.arrayBuffer());
    const parameters = queryParameters(url, headers['content-type'], body);
    const action = parameters.get('Action');
    counters.record(action);
    const fault = faults.take(action);
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    const faulted = fault && faultResponse(fault, requestId, nowMs);
    if (faulted) return faulted;
    if (action === undefined)
      return redirectResponse(302, `${MISSING_ACTION_LOCATION}${url.search}`, requestId, nowMs);
    const version = parameters.get('Version');
    if (!ACTIONS.has(action) || version !== STS_VERSION) {
      return errorResponse(invalidAction(action, version), requestId, nowMs);
    }
    const verified = await verifySigV4(
      { method: c.req.method, url: rawUrl ?? `${url.pathname}${url.search}`, headers, body },
      { service: 'sts', region, directory, now: nowMs, windowMs: windowSeconds * 1000 },
    );
    if (!verified.ok) {
      return errorResponse(sigV4Error(verified.failure, verified.message), requestId, nowMs);
    }
    const { principal } = verified;
    const members =
      action === 'GetCallerIdentity'
        ? ([
            ['Arn', callerArn(principal)],
            ['UserId', callerUserId(principal)],
            ['Account', principal.account],
          ] as const)
        : await getWebIdentityToken(parameters, principal, nowMs);
    if (isStsError(members)) return errorResponse(members, requestId, nowMs);
    return xmlResponse(200, resultXml(action, members, requestId), requestId, nowMs);
  }

  const app = new Hono();
  app.route('/admin', stsAdminRoutes(faults, counters));
  mountAccountIssuers(app, issuers.values());
  app.get('/', handle);
  app.post('/', handle);
  const server = await serve(app, { tls: options.tls, port: options.port, host: options.host });

  const endpoints = new Map<string, WebIdentityIssuerEndpoint>();
  for (const entry of issuers.values()) endpoints.set(entry.accountId, issuerEndpoint(server.url, entry));
  return {
    url: server.url,
    region,
    server,
    webIdentityIssuers: endpoints,
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    setFault: (fault) => faults.set(fault),
    close: () => server.close(),
  };
}

// Composes the Entra stand-in: token side (discovery, keys, token endpoints, admin API) with the Graph and
// ARM routes over one directory, and starts it on loopback over https.
import { Hono } from 'hono';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { adminRoutes } from './admin.js';
import { armRoutes } from './armApi.js';
import { DecisionLog } from './decisionLog.js';
import { Directory } from './directory.js';
import { discoveryRoutes } from './discovery.js';
import { ExternalKeyResolver } from './externalKeys.js';
import { FaultInjector } from './faults.js';
import { evaluateFicExpression } from './ficExpression.js';
import type { FicExpressionEvaluator } from './ficMatch.js';
import { graphRoutes } from './graphApi.js';
import {
  issueManagedIdentityToken,
  type ManagedIdentityTokenRequest,
  type ManagedIdentityTokenResult,
} from './managedIdentityTokens.js';
import type { ManagementAuthentication } from './managementAuth.js';
import type { DirectorySeed } from './model.js';
import { resolveTokenPolicy, type TokenPolicy, type TokenPolicyOptions } from './options.js';
import { EntraKeySet } from './signingKeys.js';
import { tokenRoutes } from './tokenEndpoint.js';

/** Options of the stand-in: a directory (or its seed) plus every token-side choice of ./options.ts. */
export interface EntraStandInOptions extends TokenPolicyOptions {
  /** Seed to build the directory from; ignored when `directory` is given. Empty directory when neither. */
  seed?: DirectorySeed;
  directory?: Directory;
  /** Flexible-FIC evaluator; the languageVersion 1 implementation of ./ficExpression.ts unless told. */
  evaluateFicExpression?: FicExpressionEvaluator;
  /**
   * Whether the Graph and ARM routes require a bearer access token issued by this stand-in: `required`
   * (default, as the real services do) or `disabled` (tests of other behaviour only). See managementAuth.ts.
   */
  managementAuthentication?: ManagementAuthentication;
}

/** Handles on the stand-in's state, for tests and the launcher. */
export interface EntraStandInAdmin {
  faults: FaultInjector;
  log: DecisionLog;
  keys: EntraKeySet;
  resolver: ExternalKeyResolver;
}

export interface EntraStandIn {
  /** Every route: `/{tenant}/...` token side, `/admin/...`, `/v1.0` and `/beta` Graph, `/subscriptions` ARM. */
  app: Hono;
  directory: Directory;
  admin: EntraStandInAdmin;
  policy: TokenPolicy;
  /** A user-assigned identity's token as the platform obtains it, no credential (./managedIdentityTokens.ts). */
  issueManagedIdentityToken(request: ManagedIdentityTokenRequest): Promise<ManagedIdentityTokenResult>;
}

/** Builds the stand-in (generates its RSA signing key, hence async). */
export async function createEntraStandIn(options: EntraStandInOptions = {}): Promise<EntraStandIn> {
  const policy = resolveTokenPolicy(options);
  const directory = options.directory ?? Directory.fromSeed(options.seed ?? { tenants: [] });
  const admin: EntraStandInAdmin = {
    faults: new FaultInjector(),
    log: new DecisionLog(policy.decisionLogSize),
    keys: await EntraKeySet.create(),
    resolver: new ExternalKeyResolver(policy),
  };
  const app = new Hono();
  app.route('/admin', adminRoutes(admin));
  app.route(
    '/',
    tokenRoutes({
      directory,
      keys: admin.keys,
      policy,
      resolver: admin.resolver,
      evaluateFic: options.evaluateFicExpression ?? evaluateFicExpression,
      faults: admin.faults,
      log: admin.log,
    }),
  );
  app.route('/', discoveryRoutes(directory, admin.keys, policy));
  const management = {
    authentication: options.managementAuthentication ?? 'required',
    keys: admin.keys,
    clock: policy.clock,
  } as const;
  app.route('/', graphRoutes(directory, management));
  app.route('/', armRoutes(directory, management));
  const issue = (request: ManagedIdentityTokenRequest) =>
    issueManagedIdentityToken({ directory, keys: admin.keys, policy }, request);
  return { app, directory, admin, policy, issueManagedIdentityToken: issue };
}

export interface StartEntraStandInOptions extends EntraStandInOptions {
  /** Certificate for https (MSAL requires an https authority). */
  tls: PemPair;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** Loopback address to bind; 127.0.0.1 unless told. */
  host?: string;
}

export type RunningEntraStandIn = EntraStandIn &
  RunningServer & {
    /** What to pass as `authorityHost` to @azure/identity (with `disableInstanceDiscovery: true`). */
    authorityHost: string;
  };

/** Creates the stand-in and serves it over https on loopback. */
export async function startEntraStandIn(options: StartEntraStandInOptions): Promise<RunningEntraStandIn> {
  const standIn = await createEntraStandIn(options);
  const server = await serve(standIn.app, { tls: options.tls, port: options.port, host: options.host });
  return { ...standIn, ...server, authorityHost: server.url };
}

// A SPIRE agent stand-in: the Workload API's JWT profile over one Unix socket per workload (issue 9).
// SPIRE tells workloads apart by attesting the calling process; here each workload has its own socket.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Hono } from 'hono';
import { type RunningServer, type ServeOptions, serve } from '../lib/serve.js';
import { agentAdminApp } from './agentAdmin.js';
import { openSocketFront, type SocketFront } from './socketFront.js';
import { parseSpiffeId } from './spiffeId.js';
import {
  createSpireTrustDomain,
  type MintedSvid,
  type SpireTrustDomain,
  type SpireTrustDomainOptions,
} from './trustDomain.js';
import { workloadApiHandlers, workloadApiService } from './workloadApi.js';

/** One workload: the socket it dials and the identities registered for it. */
export interface SpireWorkload {
  /** Absolute path of the workload's Unix socket; its directory is created, a stale file replaced. */
  socketPath: string;
  /** SPIFFE IDs the workload is entitled to, in the agent's own trust domain; none → PermissionDenied. */
  spiffeIds: readonly string[];
}

export interface SpireAgentOptions {
  /** The agent's own trust domain: options for a new one, or one shared with other agents or an OIDC provider. */
  trustDomain: SpireTrustDomainOptions | SpireTrustDomain;
  /** Trust domains the agent also holds bundles for (federation), sent in every bundles message. */
  federatedTrustDomains?: readonly (SpireTrustDomainOptions | SpireTrustDomain)[];
  workloads: readonly SpireWorkload[];
  /** SPIRE's `allowed_foreign_jwt_claims`: claims ValidateJWTSVID keeps for a foreign SVID besides sub, exp, aud. */
  allowedForeignJwtClaims?: readonly string[];
  /** Time source for `iat`/`exp`, the SVID cache and validation; the system clock unless told. */
  clock?: { now(): number };
  /** Where the sandbox-only admin app is served (loopback http); false serves none. */
  admin?: ServeOptions | false;
}

/** A running agent stand-in and its test handles. */
export interface SpireAgent {
  /** The agent's own trust domain. */
  readonly trustDomain: SpireTrustDomain;
  /** Own trust domain first, then the federated ones. */
  readonly trustDomains: readonly SpireTrustDomain[];
  /** `SPIFFE_ENDPOINT_SOCKET` values, `unix:///abs/path.sock`, one per workload in the order given. */
  readonly endpoints: readonly string[];
  /** False between `stop()` and `start()`. */
  readonly running: boolean;
  /** Base URL of the admin app, when served. */
  readonly adminUrl: string | undefined;
  /** The admin app itself (see `agentAdminApp`), for in-process requests. */
  readonly adminApp: Hono;
  /** The trust domain with this name; throws when the agent has none. */
  getTrustDomain(name: string): SpireTrustDomain;
  /** Rotates a trust domain's JWT key (see `SpireTrustDomain.rotate`); bundle streams get the new set. */
  rotate(
    trustDomain: string,
    options?: { retirePrevious?: boolean },
  ): Promise<{ kid: string; retiredKid?: string }>;
  /** Kills every socket and the streams on it; clients see UNAVAILABLE until `start()`. */
  stop(): Promise<void>;
  /** Binds every socket again. */
  start(): Promise<void>;
  /** Stops the sockets and the admin app. */
  close(): Promise<void>;
}

const toDomain = async (domain: SpireTrustDomainOptions | SpireTrustDomain): Promise<SpireTrustDomain> =>
  'mintSvid' in domain ? domain : createSpireTrustDomain(domain);

function checkWorkloads(workloads: readonly SpireWorkload[], own: SpireTrustDomain): void {
  const seen = new Set<string>();
  workloads.forEach((workload, index) => {
    const where = `workloads[${index}]`;
    if (!path.isAbsolute(workload.socketPath)) {
      throw new Error(`${where}.socketPath must be an absolute path`);
    }
    if (seen.has(workload.socketPath)) throw new Error(`${where}.socketPath is used by another workload`);
    seen.add(workload.socketPath);
    for (const id of workload.spiffeIds) {
      // A SPIRE server only registers (and signs for) IDs in its own trust domain.
      if (parseSpiffeId(id).trustDomain !== own.name) {
        throw new Error(`${where}.spiffeIds: ${id} is not in the trust domain ${own.name}`);
      }
    }
  });
}

/**
 * Starts the agent: one grpc-js server per workload (behind that workload's socket), each serving FetchJWTSVID,
 * FetchJWTBundles and ValidateJWTSVID as SPIRE's agent does, and (unless `admin: false`) the sandbox-only
 * admin app on loopback. Rejects, leaving nothing open, when a socket or the admin port cannot be bound.
 * JWT-SVIDs are cached per SPIFFE ID and audience set and reused until less than half their lifetime is left
 * (pkg/agent/manager/manager.go FetchJWTSVID, rotationutil without its ±10% jitter), or their key is retired.
 */
export async function startSpireAgent(options: SpireAgentOptions): Promise<SpireAgent> {
  const own = await toDomain(options.trustDomain);
  const federated = await Promise.all((options.federatedTrustDomains ?? []).map(toDomain));
  const trustDomains = [own, ...federated];
  if (new Set(trustDomains.map((domain) => domain.name)).size !== trustDomains.length) {
    throw new Error('federatedTrustDomains must not repeat a trust domain');
  }
  checkWorkloads(options.workloads, own);
  const clock = options.clock ?? { now: () => Date.now() };
  const allowedForeignJwtClaims = new Set(options.allowedForeignJwtClaims ?? []);
  const cache = new Map<string, MintedSvid>();
  let adminServer: RunningServer | undefined;

  function fetchSvid(spiffeId: string, audience: readonly string[]): string {
    const nowSeconds = Math.floor(clock.now() / 1000);
    // manager/cache/jwt_cache.go jwtSVIDKey: the SPIFFE ID and the sorted audiences.
    const key = [spiffeId, ...[...audience].sort()].join('\0');
    const cached = cache.get(key);
    const stillPublished = cached && own.jwks().keys.some((jwk) => jwk.kid === cached.kid);
    if (
      cached &&
      stillPublished &&
      cached.expiresAt - nowSeconds > (cached.expiresAt - cached.issuedAt) / 2
    ) {
      return cached.token;
    }
    const minted = own.mintSvid(spiffeId, audience, nowSeconds);
    cache.set(key, minted);
    return minted.token;
  }

  // Each workload's gRPC server lives for the agent's lifetime on a private socket; start and stop open and
  // kill the workload-facing sockets in front of them (see socketFront.ts).
  const internalDir = await mkdtemp(path.join(tmpdir(), 'spire-agent-'));
  const internalPath = (index: number): string => path.join(internalDir, `${index}.sock`);

  const servers: grpc.Server[] = [];
  async function bind(workload: SpireWorkload, index: number): Promise<void> {
    const server = new grpc.Server();
    servers.push(server);
    server.addService(
      workloadApiService(),
      workloadApiHandlers({
        entitledIds: workload.spiffeIds,
        trustDomains: () => trustDomains,
        allowedForeignJwtClaims,
        fetchSvid,
        now: () => clock.now(),
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${internalPath(index)}`, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }
  let fronts: SocketFront[] = [];

  // Start and stop run one at a time, so an admin request cannot interleave with a test's own call.
  let transition = Promise.resolve();
  const serialised = (step: () => Promise<void>) => (): Promise<void> => {
    transition = transition.then(step, step);
    return transition;
  };

  const start = serialised(async () => {
    if (fronts.length > 0) return;
    fronts = await Promise.all(
      options.workloads.map((workload, index) => openSocketFront(workload.socketPath, internalPath(index))),
    );
  });

  const stop = serialised(async () => {
    const stopping = fronts;
    fronts = [];
    await Promise.all(stopping.map((front) => front.close()));
  });

  const getTrustDomain = (name: string): SpireTrustDomain => {
    const domain = trustDomains.find((candidate) => candidate.name === name);
    if (!domain) throw new Error(`the agent holds no trust domain named ${name}`);
    return domain;
  };
  const rotate = (name: string, rotateOptions?: { retirePrevious?: boolean }) =>
    getTrustDomain(name).rotate(rotateOptions);

  const adminApp = agentAdminApp({ trustDomains, rotate, stop, start, running: () => fronts.length > 0 });
  const shutDown = async (): Promise<void> => {
    await stop();
    for (const server of servers) server.forceShutdown();
    await adminServer?.close();
    await rm(internalDir, { recursive: true, force: true });
  };
  try {
    await Promise.all(options.workloads.map(bind));
    await start();
    if (options.admin !== false) adminServer = await serve(adminApp, options.admin ?? {});
  } catch (error) {
    await shutDown();
    throw error;
  }

  return {
    trustDomain: own,
    trustDomains,
    endpoints: options.workloads.map((workload) => `unix://${workload.socketPath}`),
    get running() {
      return fronts.length > 0;
    },
    adminUrl: adminServer?.url,
    adminApp,
    getTrustDomain,
    rotate,
    stop,
    start,
    close: shutDown,
  };
}

// The JWT-SVID profile of a SPIRE agent's Workload API as grpc-js handlers: checks, status codes and texts.
// Sources: spiffe/spire pkg/agent/endpoints/middleware.go and pkg/agent/endpoints/workload/handler.go.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseSpiffeId } from './spiffeId.js';
import type { SpireTrustDomain } from './trustDomain.js';
import { SvidValidationError, validateJwtSvid } from './validateSvid.js';

/** What the handlers of one workload's socket need from the agent. */
export interface WorkloadApiContext {
  /** SPIFFE IDs this socket's workload is entitled to, in registration order. */
  readonly entitledIds: readonly string[];
  /** The agent's own trust domain, then the federated ones. */
  trustDomains(): readonly SpireTrustDomain[];
  /** Claims besides sub, exp and aud that ValidateJWTSVID returns for a foreign trust domain's SVID. */
  readonly allowedForeignJwtClaims: ReadonlySet<string>;
  /** A JWT-SVID for an entitled ID (the agent's cache, or a fresh one). */
  fetchSvid(spiffeId: string, audience: readonly string[]): string;
  /** Milliseconds since the epoch. */
  now(): number;
}

// The proto sits beside this module in the source tree; a build to dist/ copies only .js, so look there too.
const PROTO_DIRS = [
  import.meta.dirname,
  path.resolve(import.meta.dirname, '..', '..', '..', 'sandbox', 'spiffe'),
];

let service: grpc.ServiceDefinition | undefined;

/**
 * The `SpiffeWorkloadAPI` service definition from `workload.proto`, loaded once. `google/protobuf/struct.proto`
 * needs no include directory: protobufjs serves it from its bundled common protos before consulting any.
 */
export function workloadApiService(): grpc.ServiceDefinition {
  if (!service) {
    const definition = protoLoader.loadSync('workload.proto', {
      keepCase: true,
      defaults: true,
      oneofs: true,
      includeDirs: PROTO_DIRS,
    });
    service = definition.SpiffeWorkloadAPI as grpc.ServiceDefinition;
  }
  return service;
}

type Status = { code: grpc.status; details: string };
const status = (code: grpc.status, details: string): Status => ({ code, details });

/**
 * middleware.go verifySecurityHeader: exactly one `workload.spiffe.io` value, exactly `true`; checked before
 * any handler, for every /SpiffeWorkloadAPI/ method.
 */
function securityHeaderError(metadata: grpc.Metadata): Status | undefined {
  const values = metadata.get('workload.spiffe.io');
  if (values.length === 1 && values[0] === 'true') return undefined;
  return status(grpc.status.INVALID_ARGUMENT, 'security header missing from request');
}

type StructValue = Record<string, unknown>;

/**
 * A JSON value as a google.protobuf.Value (what structpb builds from the claims' JSON). The member names are
 * camelCase even with `keepCase`: protobufjs's bundled struct.proto descriptor spells them so (the wire only
 * carries field numbers, so a Go or C client is unaffected).
 */
function toValue(value: unknown): StructValue {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  return { structValue: toStruct(value as Record<string, unknown>) };
}

const toStruct = (object: Record<string, unknown>): StructValue => ({
  fields: Object.fromEntries(Object.entries(object).map(([name, value]) => [name, toValue(value)])),
});

/** The complete set of JWT bundles (handler.go composeJWTBundlesResponse), as JWKS JSON bytes. */
function bundlesMessage(context: WorkloadApiContext): { bundles: Record<string, Buffer> } {
  // bundleutil.Marshal with StandardJWKS (commit 64c21a5, "Return standard JWKS from Workload API"): a plain
  // JWK Set, no `use` and no spiffe_* members; json.MarshalIndent with four spaces.
  const bundles: Record<string, Buffer> = {};
  for (const domain of context.trustDomains()) {
    bundles[domain.id] = Buffer.from(JSON.stringify(domain.jwks(), null, 4));
  }
  return { bundles };
}

interface JwtSvidRequest {
  audience: string[];
  spiffe_id: string;
}

/** The handlers of one workload's socket (FetchJWTSVID, FetchJWTBundles, ValidateJWTSVID). */
export function workloadApiHandlers(context: WorkloadApiContext): grpc.UntypedServiceImplementation {
  const FetchJWTSVID: grpc.handleUnaryCall<JwtSvidRequest, unknown> = (call, callback) => {
    const headerError = securityHeaderError(call.metadata);
    if (headerError) return callback(headerError);
    const { audience, spiffe_id: requested } = call.request;
    if (audience.length === 0) {
      return callback(status(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
    }
    if (requested !== '') {
      try {
        parseSpiffeId(requested);
      } catch (error) {
        const reason = (error as Error).message;
        return callback(status(grpc.status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${reason}`));
      }
    }
    const ids = context.entitledIds.filter((id) => requested === '' || id === requested);
    // The same answer whether the workload has no identity or not this one: SPIRE does not say which.
    if (ids.length === 0) return callback(status(grpc.status.PERMISSION_DENIED, 'no identity issued'));
    if (audience.every((value) => value === '')) {
      // UNCONFIRMED text: the server refuses (credtemplate "invalid JWT-SVID audience: cannot be empty") and
      // the agent wraps the error it gets back as Unavailable "could not fetch JWT-SVID: ...".
      return callback(
        status(
          grpc.status.UNAVAILABLE,
          'could not fetch JWT-SVID: invalid JWT-SVID audience: cannot be empty',
        ),
      );
    }
    const svids = ids.map((id) => ({ spiffe_id: id, svid: context.fetchSvid(id, audience), hint: '' }));
    return callback(null, { svids });
  };

  const FetchJWTBundles: grpc.handleServerStreamingCall<unknown, unknown> = (call) => {
    const headerError =
      securityHeaderError(call.metadata) ??
      // handler.go sendJWTBundlesResponse: no identity and no allow_unauthenticated_verifiers.
      (context.entitledIds.length === 0
        ? status(grpc.status.PERMISSION_DENIED, 'no identity issued')
        : undefined);
    if (headerError) {
      call.emit('error', headerError);
      return;
    }
    let previous = '';
    const send = (): void => {
      const message = bundlesMessage(context);
      // handler.go: a message equal to the previous one is not sent again.
      const serialised = JSON.stringify(
        Object.entries(message.bundles).map(([id, bytes]) => [id, bytes.toString()]),
      );
      if (serialised === previous) return;
      previous = serialised;
      call.write(message);
    };
    const unsubscribes = context.trustDomains().map((domain) => domain.subscribe(send));
    const stop = (): void => {
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    send();
  };

  const ValidateJWTSVID: grpc.handleUnaryCall<{ audience: string; svid: string }, unknown> = (
    call,
    callback,
  ) => {
    const headerError = securityHeaderError(call.metadata);
    if (headerError) return callback(headerError);
    const { audience, svid } = call.request;
    if (audience === '') return callback(status(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
    if (svid === '') return callback(status(grpc.status.INVALID_ARGUMENT, 'svid must be specified'));
    const domains = context.trustDomains();
    const keyStore = new Map(domains.map((domain) => [domain.name, domain.jwks()] as const));
    try {
      const result = validateJwtSvid(svid, keyStore, audience, Math.floor(context.now() / 1000));
      const claims = { ...result.claims };
      if (result.trustDomain !== domains[0]?.name) {
        // handler.go isClaimAllowed: a foreign SVID keeps sub, exp, aud and the allowed_foreign_jwt_claims.
        for (const name of Object.keys(claims)) {
          if (!['sub', 'exp', 'aud'].includes(name) && !context.allowedForeignJwtClaims.has(name)) {
            delete claims[name];
          }
        }
      }
      // handler.go: "we have traditionally always returned it as an array".
      if (typeof claims.aud === 'string') claims.aud = [claims.aud];
      return callback(null, { spiffe_id: result.spiffeId, claims: toStruct(claims) });
    } catch (error) {
      if (error instanceof SvidValidationError) {
        return callback(status(grpc.status.INVALID_ARGUMENT, error.message));
      }
      // A bug in the stand-in, not a refusal SPIRE would give: say so rather than crash the server.
      return callback(status(grpc.status.INTERNAL, `stand-in error: ${(error as Error).message}`));
    }
  };

  return { FetchJWTSVID, FetchJWTBundles, ValidateJWTSVID } as grpc.UntypedServiceImplementation;
}

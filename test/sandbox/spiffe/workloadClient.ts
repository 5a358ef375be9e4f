// A workload's own Workload API client (grpc-js, proto-loader, its own copy of the spec's JWT profile).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// SPIFFE_Workload_API.md §6.1, JWT-SVID profile only.
const WORKLOAD_PROTO = `syntax = "proto3";
import "google/protobuf/struct.proto";
service SpiffeWorkloadAPI {
  rpc FetchJWTSVID(JWTSVIDRequest) returns (JWTSVIDResponse);
  rpc FetchJWTBundles(JWTBundlesRequest) returns (stream JWTBundlesResponse);
  rpc ValidateJWTSVID(ValidateJWTSVIDRequest) returns (ValidateJWTSVIDResponse);
}
message JWTSVIDRequest { repeated string audience = 1; string spiffe_id = 2; }
message JWTSVIDResponse { repeated JWTSVID svids = 1; }
message JWTSVID { string spiffe_id = 1; string svid = 2; string hint = 3; }
message JWTBundlesRequest {}
message JWTBundlesResponse { map<string, bytes> bundles = 1; }
message ValidateJWTSVIDRequest { string audience = 1; string svid = 2; }
message ValidateJWTSVIDResponse { string spiffe_id = 1; google.protobuf.Struct claims = 2; }
`;

export interface JwtSvid {
  spiffe_id: string;
  svid: string;
  hint: string;
}

/** A decoded google.protobuf.Value (proto-loader `oneofs: true` names the set member in `kind`). */
export interface StructValue {
  kind?: string;
  [member: string]: unknown;
}

export interface WorkloadClient {
  fetchJwtSvid(
    request: { audience: string[]; spiffe_id?: string },
    header?: SecurityHeader,
  ): Promise<JwtSvid[]>;
  /** Opens the bundle stream; messages are decoded to `{ trust domain ID: JWKS object }`. */
  fetchJwtBundles(header?: SecurityHeader): grpc.ClientReadableStream<{ bundles: Record<string, Buffer> }>;
  validateJwtSvid(
    request: { audience: string; svid: string },
    header?: SecurityHeader,
  ): Promise<{ spiffe_id: string; claims: { fields: Record<string, StructValue> } }>;
  close(): void;
}

/** A temporary directory for the workload sockets, and its removal. */
export async function socketDirectory(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spire-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

let definition: grpc.GrpcObject | undefined;

async function loadDefinition(): Promise<grpc.GrpcObject> {
  if (definition) return definition;
  const dir = await mkdtemp(path.join(tmpdir(), 'workload-proto-'));
  const file = path.join(dir, 'workload.proto');
  await writeFile(file, WORKLOAD_PROTO);
  definition = grpc.loadPackageDefinition(
    await protoLoader.load(file, { keepCase: true, defaults: true, oneofs: true }),
  );
  await rm(dir, { recursive: true, force: true });
  return definition;
}

/**
 * The security header (SPIFFE_Workload_Endpoint.md §3): `true` sends `workload.spiffe.io: true`, `false` none,
 * a list sends each value given, to test the refusals.
 */
export type SecurityHeader = boolean | readonly string[];

const securityMetadata = (header: SecurityHeader): grpc.Metadata => {
  const metadata = new grpc.Metadata();
  const values = header === true ? ['true'] : header === false ? [] : header;
  for (const value of values) metadata.add('workload.spiffe.io', value);
  return metadata;
};

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => void;

/** Connects to `endpoint` (`unix:///abs/path.sock`, the SPIFFE_ENDPOINT_SOCKET form) with quick reconnects. */
export async function connectWorkload(endpoint: string): Promise<WorkloadClient> {
  const Service = (await loadDefinition()).SpiffeWorkloadAPI as grpc.ServiceClientConstructor;
  const client = new Service(endpoint, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 50,
    'grpc.max_reconnect_backoff_ms': 200,
  });
  const unary = <T>(method: string, request: unknown, header: SecurityHeader): Promise<T> =>
    new Promise((resolve, reject) => {
      const call = client[method] as UnaryMethod;
      call.call(
        client,
        request,
        securityMetadata(header),
        { deadline: Date.now() + 5000 },
        (error, response) => (error ? reject(error) : resolve(response as T)),
      );
    });
  return {
    fetchJwtSvid: async (request, header = true) =>
      (await unary<{ svids: JwtSvid[] }>('FetchJWTSVID', request, header)).svids,
    fetchJwtBundles: (header = true) =>
      (
        client.FetchJWTBundles as (
          request: unknown,
          metadata: grpc.Metadata,
        ) => grpc.ClientReadableStream<never>
      )({}, securityMetadata(header)),
    validateJwtSvid: (request, header = true) => unary('ValidateJWTSVID', request, header),
    close: () => client.close(),
  };
}

export type Bundles = Record<string, { keys: Record<string, unknown>[] } & Record<string, unknown>>;

/** Reads a bundle stream into a queue, so no message is lost between `next()` calls. */
export interface BundleReader {
  /** The next message, as parsed JWK Sets by trust domain ID; rejects with the stream's error. */
  next(): Promise<Bundles>;
  /** Messages received and not yet taken. */
  readonly queued: number;
  /** Raw bytes of every message so far, for byte-level assertions. */
  readonly raw: Record<string, Buffer>[];
}

export function readBundles(
  stream: grpc.ClientReadableStream<{ bundles: Record<string, Buffer> }>,
): BundleReader {
  const queue: Bundles[] = [];
  const raw: Record<string, Buffer>[] = [];
  const waiters: { resolve(bundles: Bundles): void; reject(error: Error): void }[] = [];
  let failure: Error | undefined;
  stream.on('data', (message: { bundles: Record<string, Buffer> }) => {
    raw.push(message.bundles);
    const parsed = Object.fromEntries(
      Object.entries(message.bundles).map(([id, bytes]) => [id, JSON.parse(bytes.toString('utf8'))]),
    ) as Bundles;
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(parsed);
    else queue.push(parsed);
  });
  stream.on('error', (error: Error) => {
    failure = error;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  });
  return {
    next() {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    get queued() {
      return queue.length;
    },
    raw,
  };
}

/** A decoded google.protobuf.Struct as plain JSON (the inverse of what the agent builds from the claims). */
export function structToJson(struct: { fields: Record<string, StructValue> }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(struct.fields).map(([name, value]) => [name, valueToJson(value)]));
}

function valueToJson(value: StructValue): unknown {
  // protobufjs's bundled struct.proto names the members in camelCase, keepCase or not.
  switch (value.kind) {
    case 'listValue':
      return (value.listValue as { values: StructValue[] }).values.map(valueToJson);
    case 'structValue':
      return structToJson(value.structValue as { fields: Record<string, StructValue> });
    case 'nullValue':
      return null;
    default:
      return value[value.kind ?? ''];
  }
}

// A SPIFFE Workload API client (issue 9; protocols.md §D.2) over gRPC: `FetchJWTSVID` and the
// `FetchJWTBundles` stream, with the `workload.spiffe.io: true` header every call must carry, and a
// stream that reconnects with backoff when the agent restarts or stops answering. Built on @grpc/grpc-js
// and the spec's proto because Node has no official SPIFFE SDK (protocols.md §D.3).
import { fileURLToPath } from 'node:url';
import {
  type ChannelOptions,
  type ClientReadableStream,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** A JWT-SVID as the agent returns it; `svid` is a credential: never log it. */
export interface JwtSvid {
  spiffeId: string;
  svid: string;
}

/** JWKS JSON per trust domain name (`example.org`), as the bundle stream last sent them. */
export type JwtBundles = ReadonlyMap<string, { keys: Array<Record<string, unknown>> }>;

interface WorkloadStub {
  FetchJWTSVID(
    request: { audience: string[]; spiffe_id?: string },
    metadata: Metadata,
    options: { deadline: number },
    callback: (
      error: ServiceError | null,
      response?: { svids: Array<{ spiffe_id: string; svid: string }> },
    ) => void,
  ): void;
  FetchJWTBundles(
    request: object,
    metadata: Metadata,
  ): ClientReadableStream<{ bundles: Record<string, Buffer> }>;
  close(): void;
}

const definition = loadSync(fileURLToPath(new URL('./workload.proto', import.meta.url)), {
  keepCase: true,
  longs: String,
  defaults: true,
});
const Service = (
  loadPackageDefinition(definition) as unknown as {
    SpiffeWorkloadAPI: new (
      target: string,
      creds: ReturnType<typeof credentials.createInsecure>,
      options: ChannelOptions,
    ) => WorkloadStub;
  }
).SpiffeWorkloadAPI;

/** `unix:///path` as grpc-js takes it; `tcp://ip:port` → `ip:port` (the spec allows only an IP). */
export function grpcTarget(endpoint: string): string {
  if (/^unix:\/\/\//.test(endpoint)) return endpoint;
  const tcp = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):(\d{1,5})$/i.exec(endpoint);
  if (tcp) return `${tcp[1]}:${tcp[2]}`;
  throw new Error('SPIFFE_ENDPOINT_SOCKET must be unix:///<absolute path> or tcp://<ip>:<port>');
}

const securityHeader = () => {
  const metadata = new Metadata();
  metadata.set('workload.spiffe.io', 'true');
  return metadata;
};

/** Names a failed call by its gRPC status, never by its message (which may carry a path). */
export function describeWorkloadApiError(error: unknown): string {
  const code = (error as Partial<ServiceError> | null)?.code;
  if (code === status.UNAVAILABLE)
    return 'the SPIFFE Workload API is unavailable (is the agent running and its socket mounted?)';
  if (code === status.PERMISSION_DENIED) return 'the SPIFFE Workload API grants this workload no identity';
  if (code === status.DEADLINE_EXCEEDED) return 'the SPIFFE Workload API did not answer in time';
  const name = code === undefined ? undefined : status[code];
  return name ? `the SPIFFE Workload API refused the call (${name})` : 'the SPIFFE Workload API call failed';
}

export interface WorkloadApiClientOptions {
  /**
   * While a call is open (the bundle stream always is), ping the agent this often; a ping unanswered for
   * `keepaliveTimeoutMs` drops the connection, which ends the stream with UNAVAILABLE and so reopens it.
   * Without pings, an agent that hangs with the connection open (deadlocked, or stopped by a debugger)
   * leaves the stream silent forever, and the broker on the last bundles it sent. Off when absent or 0.
   */
  keepaliveMs?: number;
  /** How long a ping may go unanswered; 20 s (gRPC's default) when absent. */
  keepaliveTimeoutMs?: number;
}

/** One agent connection; grpc-js reconnects unary calls by itself, the bundle stream reconnects here. */
export class WorkloadApiClient {
  readonly #stub: WorkloadStub;

  constructor(endpoint: string, options: WorkloadApiClientOptions = {}) {
    const keepalive: ChannelOptions = options.keepaliveMs
      ? {
          'grpc.keepalive_time_ms': options.keepaliveMs,
          'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 20_000,
        }
      : {};
    this.#stub = new Service(grpcTarget(endpoint), credentials.createInsecure(), keepalive);
  }

  /** The workload's JWT-SVID for `audience` (the first, when it is entitled to several). */
  fetchJwtSvid(audience: string, timeoutMs: number): Promise<JwtSvid> {
    return new Promise((resolve, reject) => {
      this.#stub.FetchJWTSVID(
        { audience: [audience] },
        securityHeader(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          const first = response?.svids[0];
          if (error || !first)
            reject(error ?? Object.assign(new Error('no SVID'), { code: status.PERMISSION_DENIED }));
          else resolve({ spiffeId: first.spiffe_id, svid: first.svid });
        },
      );
    });
  }

  /**
   * Follows the bundle stream: `onBundles` gets every complete set; after an error or the stream's end it
   * reopens after a backoff (0.5 s doubling to 30 s, reset by a message). Returns a function that stops.
   */
  watchJwtBundles(onBundles: (bundles: JwtBundles) => void, onError: (error: unknown) => void): () => void {
    let stopped = false;
    let backoffMs = 500;
    let current: ClientReadableStream<{ bundles: Record<string, Buffer> }> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const open = () => {
      if (stopped) return;
      const stream = this.#stub.FetchJWTBundles({}, securityHeader());
      current = stream;
      stream.on('data', (message: { bundles: Record<string, Buffer> }) => {
        backoffMs = 500;
        const bundles = new Map<string, { keys: Array<Record<string, unknown>> }>();
        for (const [id, bytes] of Object.entries(message.bundles)) {
          try {
            bundles.set(id.replace(/^spiffe:\/\//, ''), JSON.parse(Buffer.from(bytes).toString('utf8')));
          } catch (error) {
            onError(error);
          }
        }
        onBundles(bundles);
      });
      const reopen = (error?: unknown) => {
        if (stopped || current !== stream) return;
        current = undefined;
        if (error) onError(error);
        timer = setTimeout(open, backoffMs);
        timer.unref();
        backoffMs = Math.min(backoffMs * 2, 30_000);
      };
      stream.on('error', reopen);
      stream.on('end', () => reopen());
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      current?.cancel();
    };
  }

  close(): void {
    this.#stub.close();
  }
}

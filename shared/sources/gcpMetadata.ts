// Token source `gcpMetadata`: the broker's own Google identity token from the GCP metadata server,
// through google-auth-library's Compute client (protocols.md §B.1). GCE_METADATA_HOST redirects it.
import { Compute } from 'google-auth-library';
import type { Clock } from '../clock.js';
import {
  assertionFromJwt,
  createSourceCache,
  type SourceAssertion,
  SourceError,
  type TokenSource,
} from './tokenSource.js';

export interface GcpMetadataSourceOptions {
  /** Audience of the identity token: api://AzureADTokenExchange for Entra. */
  audience: string;
  /** `default`, or the email of another service account attached to the instance. */
  serviceAccount: string;
  timeoutMs: number;
  clock: Clock;
}

/**
 * Creates the source: one fetch at a time; a token is served until 60 s before its expiry and
 * refreshed in the background from 5 min before.
 */
export function createGcpMetadataSource(options: GcpMetadataSourceOptions): TokenSource {
  const compute = new Compute({ serviceAccountEmail: options.serviceAccount });
  const cache = createSourceCache(options.clock);

  const fetchAssertion = async (): Promise<SourceAssertion> => {
    let token: string;
    try {
      token = await withTimeout(compute.fetchIdToken(options.audience), options.timeoutMs);
    } catch (error) {
      // gaxios messages can carry the request URL; keep only the class of failure.
      const status = (error as { status?: number; response?: { status?: number } }).response?.status;
      throw new SourceError(
        'gcpMetadata',
        status ? `metadata server answered ${status}` : 'metadata server unreachable',
        {
          cause: error,
        },
      );
    }
    return assertionFromJwt('gcpMetadata', token);
  };

  return {
    name: 'gcpMetadata',
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

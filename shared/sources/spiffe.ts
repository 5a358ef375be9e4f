// Token source `spiffe` (issue 9; protocols.md §D): the broker's own JWT-SVID for audience
// api://AzureADTokenExchange from the SPIRE agent's Workload API. Before an SVID is used it is checked
// for what Entra will refuse, so the operator reads the SPIRE setting to change instead of an AADSTS
// code later: RS256 only (SPIRE signs ES256 by default), a `kid`, a lifetime Entra accepts.
import { decodeProtectedHeader } from 'jose';
import type { Clock } from '../clock.js';
import { assertionFromJwt, createSourceCache, SourceError, type TokenSource } from './tokenSource.js';
import { describeWorkloadApiError, WorkloadApiClient } from './workloadApi.js';

export interface SpiffeSourceOptions {
  /** SPIFFE_ENDPOINT_SOCKET: `unix:///path` or `tcp://ip:port`. */
  endpoint: string;
  /** `api://AzureADTokenExchange` for Entra. */
  audience: string;
  timeoutMs: number;
  clock: Clock;
}

export const SPIFFE_SOURCE = 'spiffe';

/** Entra refuses external tokens living longer than 1 day 1 hour (AADSTS70023, protocols.md §A.5). */
const ENTRA_MAX_LIFETIME_SECONDS = 25 * 3600;

/** Creates the source. SPIRE's SVIDs live 5 minutes by default, so refresh starts at half that. */
export function createSpiffeSource(options: SpiffeSourceOptions): TokenSource {
  const client = new WorkloadApiClient(options.endpoint);
  const cache = createSourceCache(options.clock, { refreshBeforeMs: 150_000 });
  const fail = (reason: string, cause?: unknown) => new SourceError(SPIFFE_SOURCE, reason, { cause });
  const fetchAssertion = async () => {
    let svid: string;
    try {
      ({ svid } = await client.fetchJwtSvid(options.audience, options.timeoutMs));
    } catch (error) {
      throw fail(describeWorkloadApiError(error), error);
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(svid);
    } catch (error) {
      throw fail('the Workload API returned something that is not a JWT', error);
    }
    if (header.alg !== 'RS256') {
      throw fail(
        `the broker's JWT-SVID is signed ${String(header.alg)}, which Entra refuses; set jwt_key_type = "rsa-2048" on the SPIRE server`,
      );
    }
    if (typeof header.kid !== 'string' || header.kid === '')
      throw fail("the broker's JWT-SVID names no key ('kid'), which Entra needs");
    const assertion = assertionFromJwt(SPIFFE_SOURCE, svid);
    const lifetimeSeconds = (assertion.expiresAtMs - options.clock.now()) / 1000;
    if (lifetimeSeconds > ENTRA_MAX_LIFETIME_SECONDS) {
      throw fail(
        "the broker's JWT-SVID lives longer than Entra accepts (25 h); lower the SPIRE server's default_jwt_svid_ttl",
      );
    }
    return assertion;
  };
  return {
    name: SPIFFE_SOURCE,
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

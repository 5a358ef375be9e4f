// Token source `gcpMetadata`: the broker's own Google identity token from the GCP metadata server
// (protocols.md §B.1): GET /computeMetadata/v1/instance/service-accounts/<account>/identity with
// `Metadata-Flavor: Google`, the answer a JWT. GCE_METADATA_IP or GCE_METADATA_HOST redirects it, as they
// redirect Google's own libraries. Written by hand, not with google-auth-library's Compute client: through
// gcp-metadata that client sets no timeout on GCP, retries three times on its own, reads the answer whole
// and cannot be aborted, so a metadata server that hung left one more socket open per attempt. This is one
// request whose deadline covers the answer, read to a cap.

import type { Clock } from '../clock.js';
import { readCapped } from '../peerAnswer.js';
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

/** Where the metadata server answers on GCP (gcp-metadata's own default). */
const METADATA_HOST = '169.254.169.254';

/** An identity token is a kilobyte or two; a longer answer is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;

/** The metadata server's base URL: GCE_METADATA_IP, GCE_METADATA_HOST or the link-local address, http unless told. */
function metadataBase(): string {
  const host = process.env.GCE_METADATA_IP || process.env.GCE_METADATA_HOST || METADATA_HOST;
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

/**
 * Creates the source: one fetch at a time; a token is served until 60 s before its expiry and
 * refreshed in the background from 5 min before.
 */
export function createGcpMetadataSource(options: GcpMetadataSourceOptions): TokenSource {
  const cache = createSourceCache(options.clock);
  // The account is a path segment: escaped, but for the `@` of an email, which the server expects as is.
  const account = encodeURIComponent(options.serviceAccount).replaceAll('%40', '@');
  const fail = (reason: string) => new SourceError('gcpMetadata', reason);

  const fetchAssertion = async (): Promise<SourceAssertion> => {
    const url = new URL(`/computeMetadata/v1/instance/service-accounts/${account}/identity`, metadataBase());
    url.searchParams.set('audience', options.audience);
    url.searchParams.set('format', 'full');
    let response: Response;
    let text: string | undefined;
    try {
      response = await fetch(url, {
        headers: { 'Metadata-Flavor': 'Google' },
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await readCapped(response, MAX_ANSWER_BYTES);
    } catch (error) {
      // Neither the URL nor the failure's text is kept: only whether the deadline passed.
      const name = error instanceof Error ? error.name : '';
      throw fail(
        name === 'TimeoutError' || name === 'AbortError'
          ? `metadata server did not answer within ${options.timeoutMs} ms`
          : 'metadata server unreachable',
      );
    }
    if (response.status !== 200) throw fail(`metadata server answered ${response.status}`);
    // What Google's libraries check too: a server on that address that is not the metadata server.
    if (response.headers.get('metadata-flavor') !== 'Google')
      throw fail('the answer is not from a metadata server (no Metadata-Flavor: Google)');
    if (text === undefined) throw fail(`metadata server answered with more than ${MAX_ANSWER_BYTES} bytes`);
    return assertionFromJwt('gcpMetadata', text.trim());
  };

  return {
    name: 'gcpMetadata',
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

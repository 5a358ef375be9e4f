// Token source `managedIdentity` for a broker on Azure Functions or App Service: the app's user-assigned
// managed identity's Entra token for api://AzureADTokenExchange, from the platform's local identity endpoint
// (IDENTITY_ENDPOINT, header X-IDENTITY-HEADER, api-version 2019-08-01). An app registration of the same
// tenant accepts it as client assertion ("managed identity as a federated identity credential", protocols.md
// §A.6). Written by hand, not with @azure/identity's ManagedIdentityCredential (4.14.1 over msal-node 7):
// that credential chooses its endpoint from process.env by itself (Service Fabric, App Service, Azure ML,
// Cloud Shell, Azure Arc with a probe of the Arc agent's files, then IMDS), so a missing IDENTITY_HEADER
// would send the request to 169.254.169.254; it switches to its token-exchange path when
// AZURE_FEDERATED_TOKEN_FILE (the tokenFile source's setting) is set, retries up to 5 times on its own
// schedule and puts upstream messages in its errors. This client sends one request to the one endpoint
// config.ts checked, and names neither that URL, the header nor any body or token in an error.
import type { Clock } from '../clock.js';
import { readCapped } from '../peerAnswer.js';
import * as z from '../schema.js';
import { assertionFromJwt, createSourceCache, SourceError, type TokenSource } from './tokenSource.js';

export interface ManagedIdentitySourceOptions {
  /**
   * IDENTITY_ENDPOINT as the platform set it. Precondition: managedIdentitySettings (config.ts) accepted it;
   * this source does not check it again.
   */
  endpoint: string;
  /** IDENTITY_HEADER: a secret shared with the platform's endpoint; sent, never shown. */
  header: string;
  /** Client id of the user-assigned identity (a system-assigned one cannot be a federated credential). */
  clientId: string;
  /** The resource asked for: `api://AzureADTokenExchange` (TOKEN_EXCHANGE_AUDIENCE) for Entra. */
  resource: string;
  timeoutMs: number;
  clock: Clock;
  /** Tests only; the global fetch unless told. */
  fetch?: typeof fetch;
}

export const MANAGED_IDENTITY_SOURCE = 'managedIdentity';

/** The App Service identity protocol version that takes `client_id` and `X-IDENTITY-HEADER`. */
export const IDENTITY_API_VERSION = '2019-08-01';

/** The endpoint's answer is a small JSON object; anything far larger is not one. */
const MAX_RESPONSE_BYTES = 64 * 1024;

// `{access_token, expires_on, resource, token_type, client_id}`; only the token is needed: its `exp`, `iss`
// and `sub` are read from the JWT itself, as every source does.
const responseSchema = z.object({ access_token: z.string().check(z.minLength(1)) });

/** Hints for the statuses an operator can fix; any other status is reported by number alone. */
const FIXES: Readonly<Record<number, string>> = {
  400: 'is MANAGED_IDENTITY_CLIENT_ID the client id of a user-assigned identity attached to this app?',
  401: "is IDENTITY_HEADER the platform's own value?",
  403: "is IDENTITY_HEADER the platform's own value?",
  404: 'is MANAGED_IDENTITY_CLIENT_ID the client id of a user-assigned identity attached to this app?',
};

/**
 * The part of a fetch failure that is safe to keep as a cause: the system error code of undici's
 * `fetch failed` (e.g. ECONNREFUSED), nothing else. Its cause's message names the address, and any other
 * error may quote what was sent: `Headers.append` quotes a header value it refuses, the secret included.
 */
function safeCause(error: unknown): { code: string } | undefined {
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return undefined;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? { code } : undefined;
}

/**
 * Creates the source: one fetch at a time; a token is served until 60 s before its expiry and refreshed in
 * the background from 5 min before. The settings come from managedIdentitySettings (config.ts).
 */
export function createManagedIdentitySource(options: ManagedIdentitySourceOptions): TokenSource {
  const doFetch = options.fetch ?? fetch;
  const cache = createSourceCache(options.clock);
  const fail = (reason: string, cause?: unknown) =>
    new SourceError(MANAGED_IDENTITY_SOURCE, reason, cause === undefined ? undefined : { cause });
  const url = new URL(options.endpoint);
  url.searchParams.set('resource', options.resource);
  url.searchParams.set('api-version', IDENTITY_API_VERSION);
  url.searchParams.set('client_id', options.clientId);

  const fetchAssertion = async () => {
    let response: Response;
    let text: string | undefined;
    try {
      response = await doFetch(url, {
        headers: { 'X-IDENTITY-HEADER': options.header, Accept: 'application/json' },
        // A redirect would carry the header elsewhere.
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await readCapped(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError')
        throw fail(`the managed identity endpoint did not answer within ${options.timeoutMs} ms`);
      // The raw error is never kept: see safeCause.
      throw fail(
        'the managed identity endpoint is unreachable (is a managed identity assigned to the app?)',
        safeCause(error),
      );
    }
    if (response.status >= 300 && response.status < 400)
      throw fail('the managed identity endpoint answered with a redirect, which the broker does not follow');
    if (!response.ok) {
      const fix = FIXES[response.status];
      throw fail(`the managed identity endpoint answered HTTP ${response.status}${fix ? `: ${fix}` : ''}`);
    }
    if (text === undefined)
      throw fail(`the managed identity endpoint answered with more than ${MAX_RESPONSE_BYTES} bytes`);
    // JSON.parse's SyntaxError quotes the text, which may hold the token: it is never kept as a cause.
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success) throw fail('the managed identity endpoint answered without a token in JSON');
    return assertionFromJwt(MANAGED_IDENTITY_SOURCE, parsed.data.access_token);
  };

  return {
    name: MANAGED_IDENTITY_SOURCE,
    async getAssertion() {
      return (await cache.get('assertion', fetchAssertion)).token;
    },
  };
}

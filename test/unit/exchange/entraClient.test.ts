// The Entra client: the exact request it sends, strict parsing, and failure kinds without bodies.
import { describe, expect, it } from 'vitest';
import { createEntraClient, EntraError, parseRetryAfter } from '../../../shared/exchange/entraClient.js';
import { type EndlessAnswer, endlessAnswer } from '../../helpers/endlessAnswer.js';

const NOW = 1_700_000_000_000;
const clock = { now: () => NOW };
const REQUEST = {
  tenant: 'contoso.onmicrosoft.com',
  clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
  scope: 'https://vault.azure.net/.default',
  assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln',
};
const JWT = 'eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2lnbmF0dXJl';

/** The client over a fake fetch. */
const entraWith = (fake: (url: string | URL | Request, init?: RequestInit) => Promise<Response>) =>
  createEntraClient({
    authorityHost: 'https://login.example/',
    timeoutMs: 1000,
    retryAfterMaxSeconds: 3600,
    clock,
    fetch: fake as typeof fetch,
  });

function client(status: number, body: string, headers: Record<string, string> = {}) {
  const seen: Array<{ url: string; init: RequestInit }> = [];
  const entra = entraWith(async (url, init) => {
    seen.push({ url: String(url), init: init ?? {} });
    return new Response(body, { status, headers });
  });
  return { seen, entra };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as EntraError,
  );

describe('createEntraClient', () => {
  it('posts client credentials with the assertion and counts expiry from the request time', async () => {
    const { seen, entra } = client(
      200,
      JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: JWT }),
    );

    const token = await entra.requestToken(REQUEST);

    expect(token).toEqual({ accessToken: JWT, expiresAtMs: NOW + 3_599_000 });
    expect(seen[0]?.url).toBe('https://login.example/contoso.onmicrosoft.com/oauth2/v2.0/token');
    expect(seen[0]?.init.method).toBe('POST');
    expect(Object.fromEntries(new URLSearchParams(String(seen[0]?.init.body)))).toEqual({
      grant_type: 'client_credentials',
      client_id: REQUEST.clientId,
      scope: REQUEST.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: REQUEST.assertion,
    });
  });

  it.each([
    ['a non-JSON body', 'ok'],
    ['a missing access_token', JSON.stringify({ token_type: 'Bearer', expires_in: 3599 })],
    [
      'a non-JWT access_token',
      JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: 'opaque' }),
    ],
    ['a negative expires_in', JSON.stringify({ token_type: 'Bearer', expires_in: -1, access_token: JWT })],
    ['another token type', JSON.stringify({ token_type: 'pop', expires_in: 3599, access_token: JWT })],
  ])('treats 200 with %s as unavailable', async (_name, body) => {
    const error = await failure(client(200, body).entra.requestToken(REQUEST));

    expect(error).toMatchObject({ kind: 'unavailable', status: 200, oauthError: 'malformed_response' });
  });

  it('maps a refusal to its AADSTS code without keeping the body', async () => {
    const body = JSON.stringify({
      error: 'invalid_client',
      error_description: `AADSTS700213: subject ${REQUEST.assertion}`,
      error_codes: [700213],
    });

    const error = await failure(client(401, body).entra.requestToken(REQUEST));

    expect(error).toBeInstanceOf(EntraError);
    expect(error).toMatchObject({
      kind: 'refused',
      status: 401,
      aadsts: 700213,
      oauthError: 'invalid_client',
    });
    expect(JSON.stringify(error) + String(error?.message)).not.toContain(REQUEST.assertion);
  });

  it.each([
    [429, 'Too Many Requests', { 'Retry-After': '30' }, { kind: 'throttled', retryAfterSeconds: 30 }],
    [429, 'Too Many Requests', {}, { kind: 'throttled', retryAfterSeconds: 60 }],
    [
      503,
      '{"error":"temporarily_unavailable","error_codes":[90006]}',
      { 'Retry-After': '5' },
      { kind: 'unavailable', aadsts: 90006, retryAfterSeconds: 5 },
    ],
  ])('maps HTTP %i to a retryable failure', async (status, body, headers, expected) => {
    expect(await failure(client(status, body, headers).entra.requestToken(REQUEST))).toMatchObject(expected);
  });

  it.each([
    [200, { kind: 'unavailable', status: 200, oauthError: 'malformed_response' }],
    [400, { kind: 'refused', status: 400, aadsts: undefined, oauthError: undefined }],
  ])(
    'reads an endless answer (HTTP %i) only to 256 KiB and maps it by its status alone',
    async (status, expected) => {
      let answer: EndlessAnswer | undefined;
      const entra = entraWith(async () => {
        answer = endlessAnswer(status);
        return answer.response;
      });

      expect(await failure(entra.requestToken(REQUEST))).toMatchObject(expected);
      expect(answer?.cancelled).toBe(true);
      expect(answer?.bytesRead).toBeLessThanOrEqual(256 * 1024 + 2 * 4096);
    },
  );

  it('maps a network failure to unavailable', async () => {
    const entra = entraWith(async () => {
      throw new TypeError('fetch failed');
    });

    expect(await failure(entra.requestToken(REQUEST))).toMatchObject({
      kind: 'unavailable',
      status: undefined,
    });
  });
});

describe('parseRetryAfter', () => {
  const options = { retryAfterMaxSeconds: 3600, clock };
  it.each([
    ['120', 120],
    ['0', 1],
    ['-5', 1],
    ['1000000000', 3600],
    [new Date(NOW + 90_000).toUTCString(), 90],
    ['soon', undefined],
    [null, undefined],
  ])('reads %s as %s', (value, expected) => {
    expect(parseRetryAfter(value, options)).toBe(expected);
  });
});

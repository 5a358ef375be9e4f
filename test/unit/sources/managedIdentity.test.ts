// The managedIdentity token source against the App Service-style identity endpoint stand-in, whose tokens the
// Entra stand-in signs: the identity's token for api://AzureADTokenExchange, reused while fresh and fetched
// again near expiry; refusals and peer faults as SourceErrors naming no URL, header, body or token.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEntraStandIn } from '../../../sandbox/entra/server.js';
import type { RunningServer } from '../../../sandbox/lib/serve.js';
import { serve } from '../../../sandbox/lib/serve.js';
import {
  createIdentityEndpoint,
  type IdentityEndpoint,
} from '../../../sandbox/managedIdentity/identityEndpoint.js';
import {
  createManagedIdentitySource,
  type ManagedIdentitySourceOptions,
} from '../../../shared/sources/managedIdentity.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';
import { endlessAnswer } from '../../helpers/endlessAnswer.js';
import { errorText } from '../../helpers/errorText.js';

const TENANT = 'c0a7e8d2-5b1f-4e3a-9d6c-2f8b7a1e4c30';
const IDENTITY = {
  clientId: '7e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  principalId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
  resourceId:
    '/subscriptions/3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/host',
};
const START = Date.parse('2026-03-01T10:00:00Z');
/** One clock for Entra and the broker, so tokens and the source's cache age together. */
const clock = { t: START, now: () => clock.t };

let endpoint: IdentityEndpoint;
let server: RunningServer;
let url: string;
const issued: string[] = [];
/** Where an injected redirect points: a second loopback server that records every request it gets. */
let elsewhere: Server;
let elsewhereUrl: string;
const elsewhereSaw: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  const entra = await createEntraStandIn({
    clock,
    tokenLifetimeSeconds: 3600,
    seed: {
      tenants: [
        {
          id: TENANT,
          managedIdentities: [
            {
              subscriptionId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
              resourceGroup: 'rg',
              name: 'host',
              clientId: IDENTITY.clientId,
              principalId: IDENTITY.principalId,
            },
          ],
        },
      ],
    },
  });
  endpoint = createIdentityEndpoint({
    identities: [IDENTITY],
    issue: async ({ clientId, resource }) => {
      const result = await entra.issueManagedIdentityToken({ tenant: TENANT, clientId, resource });
      if (!result.ok) return undefined;
      issued.push(result.token.accessToken);
      return { accessToken: result.token.accessToken, expiresOn: result.token.expiresOn };
    },
  });
  server = await serve(endpoint.app);
  url = `${server.url}/msi/token`;
  elsewhere = createServer((request, response) => {
    elsewhereSaw.push(request.headers);
    response.end('{"access_token":"elsewhere"}');
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/msi/token`;
});
afterAll(async () => {
  await server.close();
  await new Promise((resolve) => elsewhere.close(resolve));
});
beforeEach(() => {
  clock.t = START;
  endpoint.faults.clear();
  elsewhereSaw.length = 0;
});

const options = (overrides: Partial<ManagedIdentitySourceOptions> = {}): ManagedIdentitySourceOptions => ({
  endpoint: url,
  header: endpoint.header,
  clientId: IDENTITY.clientId,
  resource: 'api://AzureADTokenExchange',
  timeoutMs: 2000,
  clock,
  ...overrides,
});

const failure = async (source: ReturnType<typeof createManagedIdentitySource>) => {
  const error = await source.getAssertion().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
};

describe('managedIdentity source', () => {
  it("returns the identity's Entra token for api://AzureADTokenExchange, and reuses it", async () => {
    const before = endpoint.requests();
    const source = createManagedIdentitySource(options());

    const [first, second] = await Promise.all([source.getAssertion(), source.getAssertion()]);
    const third = await source.getAssertion();

    expect(endpoint.requests() - before).toBe(1);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(first).toMatchObject({
      issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      subject: IDENTITY.principalId,
      expiresAtMs: START + 3600_000,
    });
    expect(decodeJwt(first.token)).toMatchObject({
      aud: 'api://AzureADTokenExchange',
      azp: IDENTITY.clientId,
      oid: IDENTITY.principalId,
      idtyp: 'app',
    });
  });

  it('fetches again in the background from 5 minutes before expiry, and waits for a new one within the last minute', async () => {
    const source = createManagedIdentitySource(options());
    const first = await source.getAssertion();
    const before = endpoint.requests();

    clock.t = START + 3600_000 - 4 * 60_000;
    const during = await source.getAssertion();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refreshed = await source.getAssertion();
    clock.t = refreshed.expiresAtMs - 30_000;
    const renewed = await source.getAssertion();

    expect(during).toEqual(first);
    expect(refreshed.token).not.toBe(first.token);
    expect(refreshed.expiresAtMs).toBe(START + 3600_000 - 4 * 60_000 + 3600_000);
    expect(renewed.expiresAtMs).toBe(refreshed.expiresAtMs - 30_000 + 3600_000);
    expect(endpoint.requests() - before).toBe(2);
  });

  it('refuses a wrong IDENTITY_HEADER as the endpoint answers it, naming the setting and not the value', async () => {
    const header = 'not-the-platform-header-0123456789';
    const error = await failure(createManagedIdentitySource(options({ header })));

    expect(error.reason).toBe(
      "the managed identity endpoint answered HTTP 401: is IDENTITY_HEADER the platform's own value?",
    );
    expect(error.message).toBe(`token source managedIdentity: ${error.reason}`);
    expect(errorText(error)).not.toContain(header);
  });

  it('is refused for a wrong header before an injected status plays, as the platform authenticates first', async () => {
    endpoint.faults.add({ status: 500, count: 1 });

    const refused = await failure(
      createManagedIdentitySource(options({ header: 'not-the-platform-header' })),
    );
    const faulted = await failure(createManagedIdentitySource(options()));

    expect(refused.reason).toBe(
      "the managed identity endpoint answered HTTP 401: is IDENTITY_HEADER the platform's own value?",
    );
    expect(faulted.reason).toBe('the managed identity endpoint answered HTTP 500');
  });

  it('names the identity setting when the endpoint does not know the client id', async () => {
    const error = await failure(
      createManagedIdentitySource(options({ clientId: '00000000-0000-4000-8000-000000000000' })),
    );

    expect(error.reason).toBe(
      'the managed identity endpoint answered HTTP 400: is MANAGED_IDENTITY_CLIENT_ID the client id of a user-assigned identity attached to this app?',
    );
  });

  it('reports an endpoint that is down as unreachable (retryable), keeping only the error code', async () => {
    // A port that was just free: undici's cause would read "connect ECONNREFUSED 127.0.0.1:<port>".
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const error = await failure(
      createManagedIdentitySource(options({ endpoint: `http://127.0.0.1:${port}/msi/token` })),
    );

    expect(error.reason).toBe(
      'the managed identity endpoint is unreachable (is a managed identity assigned to the app?)',
    );
    expect(error.cause).toEqual({ code: 'ECONNREFUSED' });
    expect(errorText(error)).not.toContain(`127.0.0.1:${port}`);
  });

  it('gives up after its timeout', async () => {
    endpoint.faults.add({ delayMs: 1000, count: 1 });

    const error = await failure(createManagedIdentitySource(options({ timeoutMs: 200 })));

    expect(error.reason).toBe('the managed identity endpoint did not answer within 200 ms');
  });

  it.each([
    [500, 'the managed identity endpoint answered HTTP 500'],
    [503, 'the managed identity endpoint answered HTTP 503'],
    [429, 'the managed identity endpoint answered HTTP 429'],
    [403, "the managed identity endpoint answered HTTP 403: is IDENTITY_HEADER the platform's own value?"],
  ])('turns HTTP %i into a SourceError that shows no body', async (status, reason) => {
    const body = `{"error":"boom","access_token":"${issued[0] ?? 'x'}","detail":"upstream-body-canary"}`;
    endpoint.faults.add({ status, body, count: 1 });

    const error = await failure(createManagedIdentitySource(options()));

    expect(error.reason).toBe(reason);
    expect(errorText(error)).not.toContain('upstream-body-canary');
  });

  it.each([
    [
      'text that is not JSON',
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2ln and more',
      'the managed identity endpoint answered without a token in JSON',
    ],
    [
      'JSON without access_token',
      '{"token":"opaque-canary-value-0123456789"}',
      'the managed identity endpoint answered without a token in JSON',
    ],
    [
      'a token that is not a JWT',
      '{"access_token":"opaque-canary-value-0123456789","expires_on":"1"}',
      'the platform returned something that is not a JWT',
    ],
  ])('refuses a 200 with %s, and quotes none of it', async (_, body, reason) => {
    endpoint.faults.add({ status: 200, body, count: 1 });

    const error = await failure(createManagedIdentitySource(options()));

    expect(error.reason).toBe(reason);
    const text = errorText(error);
    expect(text).not.toContain('canary');
    expect(text).not.toContain('eyJzdWIi');
  });

  it('gives up after its timeout when the answer stalls after its headers', async () => {
    const stalling = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"access_token":"');
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stalling.address() as AddressInfo;
      const source = createManagedIdentitySource(
        options({ endpoint: `http://127.0.0.1:${port}/msi/token`, timeoutMs: 200 }),
      );

      const error = await failure(source);

      expect(error.reason).toBe('the managed identity endpoint did not answer within 200 ms');
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('reads an endless answer only to 64 KiB, and refuses it', async () => {
    const answer = endlessAnswer();
    const source = createManagedIdentitySource(
      options({ fetch: (async () => answer.response) as typeof fetch }),
    );

    const error = await failure(source);

    expect(error.reason).toBe('the managed identity endpoint answered with more than 65536 bytes');
    expect(answer.cancelled).toBe(true);
    expect(answer.bytesRead).toBeLessThanOrEqual(64 * 1024 + 2 * 4096);
  });

  it.each([302, 307])(
    'refuses a %i redirect without following it, so the header goes nowhere else',
    async (status) => {
      const body = '{"detail":"upstream-body-canary"}';
      endpoint.faults.add({ status, body, location: elsewhereUrl, count: 1 });

      const error = await failure(createManagedIdentitySource(options()));

      expect(error.reason).toBe(
        'the managed identity endpoint answered with a redirect, which the broker does not follow',
      );
      expect(errorText(error)).not.toContain('upstream-body-canary');
      expect(elsewhereSaw).toEqual([]);
    },
  );

  it('the redirect target would see the header if the source followed redirects (control for the test above)', async () => {
    endpoint.faults.add({ status: 302, location: elsewhereUrl, count: 1 });

    const followed = await fetch(`${url}?api-version=2019-08-01`, {
      headers: { 'X-IDENTITY-HEADER': endpoint.header },
    });

    expect(await followed.text()).toBe('{"access_token":"elsewhere"}');
    expect(elsewhereSaw.map((headers) => headers['x-identity-header'])).toEqual([endpoint.header]);
  });

  it.each([
    ['CR LF', 'header-part-one\r\nX-Injected: header-part-two'],
    ['LF', 'header-part-one\nheader-part-two'],
    ['NUL', 'header-part-one\u0000header-part-two'],
  ])('never puts a header with %s (refused by fetch) in the error or its causes', async (_, header) => {
    const before = endpoint.requests();

    const error = await failure(createManagedIdentitySource(options({ header })));

    expect(error.reason).toBe(
      'the managed identity endpoint is unreachable (is a managed identity assigned to the app?)',
    );
    expect(endpoint.requests() - before).toBe(0);
    const text = errorText(error);
    for (const part of [header, 'header-part-one', 'header-part-two', 'X-Injected'])
      expect(text).not.toContain(part);
  });
});

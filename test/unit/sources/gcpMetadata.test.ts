// The gcpMetadata token source through google-auth-library against the metadata-server stand-in:
// the broker's own ID token with the exchange audience, reused while fresh, and failures that
// are retryable and name no URL or token.

import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type RunningGcpMetadataServer,
  startGcpMetadataServer,
} from '../../../sandbox/gcp/metadataServer.js';
import { createOidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import { createGcpMetadataSource } from '../../../shared/sources/gcpMetadata.js';
import { SourceError } from '../../../shared/sources/tokenSource.js';

const BROKER = { email: 'broker@broker-project.iam.gserviceaccount.com', uniqueId: '100000000000000000009' };
let vm: RunningGcpMetadataServer;
let issued = 0;

beforeAll(async () => {
  const issuer = await createOidcIssuer({ issuer: 'https://accounts.google.com' });
  const sign = issuer.sign.bind(issuer);
  issuer.sign = (claims, options) => {
    issued++;
    return sign(claims, options);
  };
  vm = await startGcpMetadataServer({
    projectId: 'broker-project',
    projectNumber: 123456789012,
    instance: {
      id: '1234567890',
      name: 'broker-vm',
      zone: 'europe-west1-b',
      creationTimestampSeconds: 1735689600,
    },
    serviceAccounts: [{ ...BROKER, default: true }],
    issuer,
  });
});
afterAll(() => vm.close());
beforeEach(() => {
  process.env.GCE_METADATA_HOST = vm.metadataHost;
  issued = 0;
});

const options = {
  audience: 'api://AzureADTokenExchange',
  serviceAccount: 'default',
  timeoutMs: 2000,
  clock: { now: () => Date.now() },
};

describe('gcpMetadata source', () => {
  it("returns the broker's own identity token with the exchange audience, and reuses it", async () => {
    const source = createGcpMetadataSource(options);

    const [first, second] = await Promise.all([source.getAssertion(), source.getAssertion()]);
    const third = await source.getAssertion();

    expect(first).toEqual(second);
    expect(third).toEqual(first);
    expect(issued).toBe(1);
    expect(first).toMatchObject({ issuer: 'https://accounts.google.com', subject: BROKER.uniqueId });
    expect(decodeJwt(first.token)).toMatchObject({ aud: 'api://AzureADTokenExchange', email: BROKER.email });
    expect(first.expiresAtMs).toBe((decodeJwt(first.token).exp as number) * 1000);
  });

  it('asks for a named service account by email', async () => {
    const source = createGcpMetadataSource({ ...options, serviceAccount: BROKER.email });

    expect((await source.getAssertion()).subject).toBe(BROKER.uniqueId);
  });

  it('fails with a SourceError naming the status, not the URL, for an unknown account', async () => {
    const source = createGcpMetadataSource({
      ...options,
      serviceAccount: 'nobody@broker-project.iam.gserviceaccount.com',
    });

    const error = await source.getAssertion().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toBe('token source gcpMetadata: metadata server answered 404');
  });

  it('fails with a SourceError when the metadata server is unreachable', async () => {
    process.env.GCE_METADATA_HOST = '127.0.0.1:1';
    // gcp-metadata retries refused connections; the source's own timeout bounds the wait.
    const source = createGcpMetadataSource({ ...options, timeoutMs: 300 });

    const error = await source.getAssertion().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toBe('token source gcpMetadata: metadata server unreachable');
  });

  describe('against a metadata server that misbehaves', () => {
    /** The source's failure against a loopback server answering with `answer`, and that server's open sockets after it. */
    async function against(answer: RequestListener, timeoutMs = 300) {
      const server = createServer(answer);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      process.env.GCE_METADATA_HOST = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const error = await createGcpMetadataSource({ ...options, timeoutMs })
          .getAssertion()
          .catch((e: unknown) => e);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const open = await new Promise<number>((resolve, reject) =>
          server.getConnections((e, count) => (e ? reject(e) : resolve(count))),
        );
        return { error: error as SourceError, open };
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    }

    it('gives up at its deadline on an answer that stalls after its headers, and closes the connection', async () => {
      const { error, open } = await against((_request, response) => {
        response.writeHead(200, { 'Metadata-Flavor': 'Google' });
        response.write('eyJhbGciOiJSUzI1NiJ9.');
      });

      expect(error).toBeInstanceOf(SourceError);
      expect(error.reason).toBe('metadata server did not answer within 300 ms');
      expect(open).toBe(0);
    });

    it('reads an endless answer only to 16 KiB', async () => {
      let written = 0;
      const { error, open } = await against((_request, response) => {
        response.writeHead(200, { 'Metadata-Flavor': 'Google' });
        const more = () => {
          while (!response.destroyed && response.write('A'.repeat(4096))) written += 4096;
        };
        response.on('drain', more);
        more();
      }, 5000);

      expect(error.reason).toBe('metadata server answered with more than 16384 bytes');
      expect(open).toBe(0);
      expect(written).toBeLessThan(64 * 1024 * 1024);
    });

    it("refuses an answer without Metadata-Flavor: Google, as Google's libraries do", async () => {
      const { error } = await against((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('eyJhbGciOiJSUzI1NiJ9.e30.c2ln');
      });

      expect(error.reason).toBe('the answer is not from a metadata server (no Metadata-Flavor: Google)');
    });
  });
});

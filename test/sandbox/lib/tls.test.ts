// The sandbox CA: leaf certificates chain to it, and https on loopback works only once it is trusted.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortsFree } from '../../../sandbox/lib/ports.js';
import { type RunningServer, serve } from '../../../sandbox/lib/serve.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';

describe('sandbox certificate authority', () => {
  let ca: CertificateAuthority;
  let server: RunningServer;

  beforeAll(async () => {
    ca = await createCertificateAuthority();
    const app = new Hono().get('/ping', (c) => c.text('pong'));
    server = await serve(app, { tls: await ca.issue(['localhost', '127.0.0.1']) });
  });
  afterAll(() => server.close());

  it('issues a leaf that chains to the CA, names loopback, and is no CA itself', async () => {
    const leaf = new X509Certificate((await ca.issue(['localhost', '127.0.0.1'])).certPem);
    const root = new X509Certificate(ca.certPem);

    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(root.ca).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
  });

  it('is refused by fetch until trusted, then accepted', async () => {
    const untrusted = await fetch(`${server.url}/ping`).then(
      () => 'connected',
      (error: Error) => String((error.cause as Error | undefined)?.message ?? error.message),
    );
    expect(untrusted).toMatch(/certificate/i);

    trustCertificateAuthority(ca.certPem);
    const response = await fetch(`${server.url}/ping`);

    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await response.text()).toBe('pong');
  });
});

describe('assertPortsFree', () => {
  it('names every taken port and passes free ones', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      await expect(assertPortsFree({ entra: taken, host: 0 })).rejects.toThrow(
        `port already in use: entra (127.0.0.1:${taken})`,
      );
    } finally {
      holder.close();
    }
    await expect(assertPortsFree({ entra: taken })).resolves.toBeUndefined();
  });
});

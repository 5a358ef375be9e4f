// `npm start`'s launcher: it writes endpoints.json, fails fast naming a taken port, and Ctrl-C
// leaves no process behind (every port, Azurite's included, is free again).
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { interrupt, launch, PORT_NAMES, whenUp } from '../../sandbox/lib/childLauncher.js';

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

describe('sandbox launcher', () => {
  it('starts everything, answers on every endpoint, and frees every port on Ctrl-C', async () => {
    const launched = await launch();
    const endpoints = await whenUp(launched);

    const health = await fetch(`${endpoints.broker.url}/api/health`);
    const metadata = await fetch(
      `http://${endpoints.gcp.callerVm.metadataHost}/computeMetadata/v1/project/project-id`,
      {
        headers: { 'Metadata-Flavor': 'Google' },
      },
    );
    const written = JSON.parse(await readFile(path.join(launched.stateDir, 'endpoints.json'), 'utf8'));
    const ca = await readFile(endpoints.caCertificate, 'utf8');
    const code = await interrupt(launched);
    const free = await Promise.all(PORT_NAMES.map((name) => canBind(launched.ports[name])));

    expect(health.status).toBe(200);
    expect(await metadata.text()).toBe('sandbox-project');
    expect(written.broker.url).toBe(`http://127.0.0.1:${launched.ports.BROKER}`);
    expect(written.entra.authorityHost).toBe(`https://127.0.0.1:${launched.ports.ENTRA}`);
    expect(written.callerEnvironment).toMatchObject({
      GCE_METADATA_HOST: `127.0.0.1:${launched.ports.CALLER_VM}`,
    });
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(launched.output()).toContain('Try it, as the demo caller');
    expect(code).toBe(0);
    expect(free).toEqual(PORT_NAMES.map(() => true));
  });

  it('refuses to start when a port is taken, naming it, and starts nothing', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const launched = await launch({ ENTRA: taken });

    const code = await launched.exited;
    holder.close();

    expect(code).toBe(1);
    expect(launched.output()).toContain(`port already in use: entra (127.0.0.1:${taken})`);
    expect(await canBind(launched.ports.AZURITE_BLOB)).toBe(true);
  });
});

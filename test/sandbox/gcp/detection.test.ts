// gcp-metadata's detection ping against the stand-in: `GET .../instance` is followed to `instance/` and accepted.
// Its own file: gcp-metadata caches the detection result at module level, and each test file gets a fresh module.

import { GoogleAuth, gcpMetadata } from 'google-auth-library';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GoogleIssuer, startGoogleIssuer } from '../../../sandbox/gcp/googleIssuer.js';
import { createGcpMetadataServer } from '../../../sandbox/gcp/metadataServer.js';
import { type RunningServer, serve } from '../../../sandbox/lib/serve.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';
import { AUDIENCE, recording, VM_A, vmAOptions } from './fixtures.js';

const ENV_NAMES = [
  'GCE_METADATA_HOST',
  'GCE_METADATA_IP',
  'METADATA_SERVER_DETECTION',
  'GOOGLE_CLOUD_PROJECT',
];

describe('gcp-metadata detection against the stand-in', () => {
  let google: GoogleIssuer;
  let vm: RunningServer;
  let notGoogle: RunningServer;
  let seen: string[];
  const savedEnv = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    google = await startGoogleIssuer({ tls: await ca.issue(['localhost', '127.0.0.1']) });
    const recorded = recording(createGcpMetadataServer(vmAOptions(google)));
    seen = recorded.seen;
    vm = await serve(recorded.app);
    // A server that answers 200 but is not a metadata server: no Metadata-Flavor on its answers.
    notGoogle = await serve(new Hono().get('*', (c) => c.text('hello')));
    delete process.env.GCE_METADATA_IP;
    process.env.METADATA_SERVER_DETECTION = 'ping-only';
    process.env.GOOGLE_CLOUD_PROJECT = VM_A.projectId;
  });
  beforeEach(() => {
    gcpMetadata.resetIsAvailableCache();
    seen.length = 0;
  });
  afterAll(async () => {
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all([google?.close(), vm?.close(), notGoogle?.close()]);
  });

  it('is detected by the ping, which follows the redirect to the instance directory', async () => {
    process.env.GCE_METADATA_HOST = new URL(vm.url).host;

    expect(await gcpMetadata.isAvailable()).toBe(true);
    expect(seen).toEqual(['GET /computeMetadata/v1/instance', 'GET /computeMetadata/v1/instance/']);
  });

  it('a server without the Metadata-Flavor answer header is not detected (the check the stand-in satisfies)', async () => {
    process.env.GCE_METADATA_HOST = new URL(notGoogle.url).host;

    expect(await gcpMetadata.isAvailable()).toBe(false);
  });

  it('GoogleAuth detects the VM by ping and fetches an ID token for its default account', async () => {
    process.env.GCE_METADATA_HOST = new URL(vm.url).host;

    const client = await new GoogleAuth().getIdTokenClient(AUDIENCE);
    const token = await client.idTokenProvider.fetchIdToken(AUDIENCE);

    expect(seen[0]).toBe('GET /computeMetadata/v1/instance');
    expect(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub).toBe(
      VM_A.defaultAccount.uniqueId,
    );
  });
});
